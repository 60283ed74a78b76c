"""What seenit forgets and how its bookkeeping survives concurrency.

Store tests run on both engines (a SQLite file and a real PostgreSQL server); the service
and the cogs run on a real SQLite file, through the fake Discord where Discord is involved.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from bot.client import SeenitBot
from bot.config import Config
from bot.fetch import Fetcher
from bot.guild_settings import GuildSettings
from bot.hashing_pool import Hasher
from bot.matching import PostContext
from bot.records import AlertRecord, NewImage
from bot.service import DEPARTED_KEY, SeenService
from bot.store import open_store
from bot.store.sqlite import SQLiteStore
from cogs.scanner import SCANS_KEY, ScanState
from tests.botworld import World, seenit_running, text_of
from tests.procbot import base_env
from tests.support import CHELSEA, VARIANTS, photo

pytest_plugins = ("tests.pgserver",)

ALICE, BOB, CAROL = 100, 200, 300


def image(message: int, author: int, *, guild: int = 1, h64: int = 1) -> NewImage:
    return NewImage(guild, 10, message, author, 0, message, h64, bytes([h64]) * 32, 90)


def alert(repost_author: int, original: int, message: int, *, guild: int = 1) -> AlertRecord:
    return AlertRecord(guild, 10, message, repost_author, original, 10, message + 1000, message)


async def test_forgetting_a_member_leaves_no_trace_of_them_in_the_server(store_url: str) -> None:
    async with open_store(store_url) as store:
        a, b, c, a2 = await store.add_images(
            [image(1, ALICE), image(2, BOB), image(3, CAROL), image(4, ALICE, guild=2)]
        )
        await store.record_alert(alert(BOB, a.id, 11))  # Bob reposted Alice's picture
        await store.record_alert(alert(ALICE, c.id, 12))  # Alice reposted Carol's
        await store.record_alert(alert(CAROL, b.id, 13))  # nothing to do with Alice
        await store.record_alert(alert(BOB, a2.id, 14, guild=2))
        await store.allow_image(1, 5, bytes(32), added_by=ALICE)
        await store.add_not_repost(1, a.id, bytes(32), added_by=BOB)  # about Alice's image
        await store.add_not_repost(1, b.id, bytes(32), added_by=ALICE)  # Alice's click
        await store.save_settings(1, GuildSettings(exempt_users=frozenset({ALICE, CAROL})))
        await store.save_settings(2, GuildSettings(exempt_users=frozenset({ALICE})))

        report = await store.forget_member(1, ALICE)

        assert report.images == (a.id,)
        assert sorted(x.message_id for x in report.alerts) == [11, 12]
        assert (report.added_by_cleared, report.exemptions) == (2, 1)
        stats = await store.stats(1, 10**6)
        assert stats.images == 2 and stats.alerts == 1
        assert ALICE not in dict(stats.top_reposters)
        assert [img.id for img, _ in stats.most_reposted] == [b.id]
        assert [x.added_by for x in await store.allowed_images(1)] == [0]
        assert await store.not_reposts(1) == [(b.id, bytes(32))]
        assert (await store.get_settings(1)).exempt_users == {CAROL}
        # The other server is untouched ...
        assert [i.id for i in await store.get_images([a2.id])] == [a2.id]
        assert (await store.get_settings(2)).exempt_users == {ALICE}
        # ... until the operator forgets the user everywhere.
        everywhere = await store.forget_member(None, ALICE)
        assert everywhere.images == (a2.id,) and len(everywhere.alerts) == 1
        assert everywhere.exemptions == 1
        assert (await store.get_settings(2)).exempt_users == frozenset()
        assert (await store.stats(2, 10**6)).alerts == 0
        assert await store.forget_member(None, ALICE) == type(report)()


async def test_concurrent_meta_updates_lose_nothing(store_url: str) -> None:
    def add(n: int):  # type: ignore[no-untyped-def]
        def change(raw: str | None) -> str:
            values = json.loads(raw) if raw else []
            return json.dumps([*values, n])

        return change

    async with open_store(store_url) as one, open_store(store_url) as two:
        await asyncio.gather(
            *(
                (one if n % 2 else two).update_meta("counter", add(n))  # two connections
                for n in range(40)
            )
        )
        assert sorted(json.loads(await one.get_meta("counter") or "[]")) == list(range(40))
        assert await one.update_meta("counter", lambda _: None) is None
        assert await two.get_meta("counter") is None


async def test_guilds_left_at_once_are_all_remembered(tmp_path: Path) -> None:
    async with open_store(f"sqlite:///{tmp_path / 'seenit.db'}") as store, Hasher(0) as hasher:
        service = SeenService(store, hasher, clock=lambda: 5)
        await asyncio.gather(*(service.guild_left(g) for g in range(1, 21)))
        await asyncio.gather(*(service.guild_returned(g) for g in range(1, 21, 2)))
        departed = json.loads(await store.get_meta(DEPARTED_KEY) or "{}")
        assert sorted(int(g) for g in departed) == list(range(2, 21, 2))
        assert await service.purge_departed(0) == list(range(2, 21, 2))
        assert await store.get_meta(DEPARTED_KEY) == "{}"


async def test_scans_saving_at_once_keep_each_others_state(tmp_path: Path) -> None:
    config = Config(database_url=f"sqlite:///{tmp_path / 'seenit.db'}", hash_workers=0)
    async with (
        open_store(config.database_url) as store,
        Hasher(0) as hasher,
        Fetcher(max_bytes=1 << 20) as fetcher,
    ):
        bot = SeenitBot(config=config, service=SeenService(store, hasher), fetcher=fetcher)
        states = [ScanState(1, channel, 100, 5, 6, read=channel) for channel in range(1, 31)]
        await asyncio.gather(*(bot.scans.save(s, s.channel_id) for s in states))
        saved = json.loads(await store.get_meta(SCANS_KEY) or "{}")
        assert sorted(int(c) for c in saved) == list(range(1, 31))
        await asyncio.gather(*(bot.scans.save(None, c) for c in range(1, 31)))
        assert await store.get_meta(SCANS_KEY) == "{}"


class PausingFeedbackStore(SQLiteStore):
    """A SQLite store whose read of "not a repost" pairs waits for the test's go."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.reading = asyncio.Event()
        self.go = asyncio.Event()

    async def not_reposts(self, guild_id: int) -> list[tuple[int, bytes]]:
        pairs = await super().not_reposts(guild_id)
        self.reading.set()
        await self.go.wait()
        return pairs


async def test_a_not_a_repost_click_during_a_reload_is_kept(tmp_path: Path) -> None:
    original = photo("chelsea.jpg")
    async with (
        PausingFeedbackStore(f"sqlite:///{tmp_path / 'seenit.db'}") as store,
        Hasher(0) as hasher,
    ):
        service = SeenService(store, hasher)
        first = await service.fingerprint(CHELSEA[1])
        repost = await service.fingerprint(VARIANTS["mirrored"](original))

        def post(message: int, author: int) -> PostContext:
            return PostContext(1, 10, message, author, message * 1000)

        store.go.set()
        (stored,) = await service.ingest(post(1, ALICE), [(0, first)])
        assert stored.stored is not None
        service = SeenService(store, hasher)  # a restart: the next post reads the pairs
        store.go.clear()
        store.reading.clear()
        loading = asyncio.create_task(service.ingest(post(2, BOB), [(0, repost)]))
        await store.reading.wait()
        # A moderator clicks "Not a repost" while the pairs are being read.
        await service.not_a_repost(1, stored.stored.id, repost, added_by=CAROL)
        store.go.set()
        await loading
        (again,) = await service.ingest(post(3, BOB), [(0, repost)])
        assert again.matches and again.alert == ()


async def test_forgetme_removes_the_members_alerts_exemption_and_name(world: World) -> None:
    async with seenit_running(world) as bot:
        service = bot.service
        await service.save_settings(
            world.guild.id,
            GuildSettings(exempt_users=frozenset({world.alice.user.id, world.carol.user.id})),
        )
        await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        repost = await world.post(world.memes, world.bob, CHELSEA)
        alert_message = await world.fake.wait_for_message(world.memes, after=repost)
        stats = await service.stats(world.guild.id)
        assert stats.alerts == 1 and stats.most_reposted[0][0].author_id == world.alice.user.id

        rec = await world.fake.slash_command(
            world.guild, world.general, world.alice, "forgetme", {"confirm": True}
        )
        answer = text_of(await rec.wait_final(timeout=10))
        assert "1 image" in answer and "1 repost alert" in answer
        # The alert that showed Alice's post is gone from the channel and from stats.
        await world.fake.wait_until(
            lambda: world.fake.get_message(alert_message) is None, what="alert deleted"
        )
        stats = await service.stats(world.guild.id)
        assert stats.alerts == 0 and stats.most_reposted == () and stats.images == 1
        settings = await service.settings(world.guild.id)
        assert settings.exempt_users == {world.carol.user.id}


def test_the_operator_forgets_a_user_in_every_server(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seenit.db'}"

    async def fill() -> None:
        async with open_store(url) as store:
            a1, _, a2 = await store.add_images(
                [image(1, ALICE), image(2, BOB), image(3, ALICE, guild=2)]
            )
            await store.record_alert(alert(BOB, a1.id, 11))
            await store.record_alert(alert(BOB, a2.id, 12, guild=2))
            await store.save_settings(2, GuildSettings(exempt_users=frozenset({ALICE})))

    async def left() -> tuple[int, int, int]:
        async with open_store(url) as store:
            images = await store.count_images(1) + await store.count_images(2)
            alerts = (await store.stats(1, 0)).alerts + (await store.stats(2, 0)).alerts
            return images, alerts, len((await store.get_settings(2)).exempt_users)

    asyncio.run(fill())
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "forget-user", str(ALICE)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=base_env(DATABASE_URL=url),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "2 images, 2 alerts, 1 exemptions" in done.stdout
    assert asyncio.run(left()) == (1, 0, 0)
    bad = subprocess.run(
        [sys.executable, "-m", "bot.cli", "forget-user", str(ALICE)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=base_env(DATABASE_URL="mysql://nope"),
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("seenit: DATABASE_URL")


async def test_an_edit_deletes_and_renumbers_a_messages_images(store_url: str) -> None:
    async with open_store(store_url) as store:
        a, b, c = await store.add_images(
            [
                NewImage(1, 10, 7, ALICE, slot, 7, slot + 1, bytes([slot]) * 32, 90)
                for slot in (0, 1, 2)
            ]
        )
        assert await store.edit_images(1, [a.id], {b.id: 0, c.id: 1}) == [a.id]
        assert [(r.id, r.slot) for r in await store.images_in_message(1, 7)] == [
            (b.id, 0),
            (c.id, 1),
        ]
        # Two images trading places do not collide on (guild, message, slot).
        assert await store.edit_images(1, [], {b.id: 1, c.id: 0}) == []
        assert [(r.id, r.slot) for r in await store.images_in_message(1, 7)] == [
            (c.id, 0),
            (b.id, 1),
        ]
        assert await store.edit_images(2, [b.id], {}) == []  # another guild's image: untouched


async def test_closing_lets_running_event_handlers_finish_before_the_store_closes(
    world: World,
) -> None:
    # A guild left while seenit shuts down: its purge, mid-way, must not find the store
    # closed under it. Closing waits for the handlers discord.py is running.
    finished: list[int] = []
    async with seenit_running(world) as bot:

        async def slow_listener() -> None:
            await asyncio.sleep(0.3)
            finished.append(await bot.service.store.count_images(world.guild.id))

        bot.add_listener(slow_listener, "on_slow_work")
        bot.dispatch("slow_work")
    assert finished == [0]

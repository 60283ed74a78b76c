"""The ingest pipeline without Discord: posts and channel histories as plain objects, images
served over HTTP, a real SQLite file; and the Integrations overrides rule (pure)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.fetch import Fetcher
from bot.hashing_pool import Hasher
from bot.ingest import HistoryUnavailable, Ingest, MediaRef, Post, Repost, shown_media
from bot.matching import PostContext
from bot.overrides import CHANNEL, ROLE, USER, Asker, Override, overrides_allow
from bot.service import SeenService
from bot.store import open_store
from tests.support import CHELSEA, COFFEE, ROCKET, VARIANTS, photo

GUILD, CHANNEL_ID, ALICE, BOB = 1, 10, 100, 200
MIRRORED = ("mirrored.jpg", VARIANTS["mirrored"](photo("chelsea.jpg")))


class Images:
    """A web server handing out test images by name (Discord's CDN, for the pipeline)."""

    def __init__(self, *files: tuple[str, bytes]) -> None:
        self.files = dict(files)
        self.base = ""

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    async def handle(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/jpeg")


@pytest.fixture
async def images() -> AsyncIterator[Images]:
    served = Images(CHELSEA, COFFEE, ROCKET, MIRRORED)
    app = web.Application()
    app.router.add_get("/{name}", served.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    served.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield served
    await runner.cleanup()


def post(message_id: int, author: int, *urls: str, by_bot: bool = False) -> Post:
    context = PostContext(GUILD, CHANNEL_ID, message_id, author, message_id * 1000)
    media = tuple(MediaRef(slot, url) for slot, url in enumerate(urls))
    return Post(context, media, by_bot=by_bot)


class History:
    """A channel whose history is a list of posts (a :class:`bot.ingest.Channel`)."""

    def __init__(self, posts: list[Post], *, readable: bool = True) -> None:
        self.posts = posts
        self.readable = readable
        self.refuse = False
        self.reads = 0

    @property
    def id(self) -> int:
        return CHANNEL_ID

    @property
    def guild_id(self) -> int:
        return GUILD

    @property
    def parents(self) -> tuple[int, ...]:
        return ()

    def may_read_history(self) -> bool:
        return self.readable

    async def history(
        self,
        *,
        limit: int,
        after: int | None = None,
        before: int | None = None,
        oldest_first: bool = True,
    ) -> AsyncIterator[Post]:
        self.reads += 1
        if self.refuse:
            raise HistoryUnavailable("403 Forbidden")
        chosen = [
            p
            for p in sorted(self.posts, key=lambda p: p.message_id, reverse=not oldest_first)
            if (after is None or p.message_id > after) and (before is None or p.message_id < before)
        ]
        for p in chosen[:limit]:
            yield p


@pytest.fixture
async def ingest(tmp_path: Path) -> AsyncIterator[Ingest]:
    async with (
        open_store(f"sqlite:///{tmp_path / 'seenit.db'}") as store,
        Hasher(0) as hasher,
        Fetcher(max_bytes=1 << 22, timeout=5.0, allow_private=True) as fetcher,
    ):
        service = SeenService(store, hasher)
        yield Ingest(service, fetcher, catchup_limit=100, guild_grace_days=7.0)


async def test_a_live_repost_reaches_the_alert_with_the_earlier_post(
    ingest: Ingest, images: Images
) -> None:
    alerts: list[Repost] = []

    async def alert(repost: Repost) -> None:
        alerts.append(repost)

    await ingest.posted(post(1, ALICE, images.url("chelsea.jpg")), None, alert)
    await ingest.posted(post(2, BOB, images.url("coffee.jpg")), None, alert)
    assert alerts == []
    await ingest.posted(post(3, BOB, images.url("mirrored.jpg")), None, alert)
    (repost,) = alerts
    assert repost.post.message_id == 3
    assert [m.image.message_id for m in repost.matches] == [1]
    assert repost.image == MIRRORED[1]
    # Every message was handled in order: the channel's cursor is at the last one.
    assert await ingest.service.cursor(CHANNEL_ID) == 3


async def test_catch_up_indexes_history_after_the_cursor_without_alerts(
    ingest: Ingest, images: Images
) -> None:
    await ingest.ingest(post(1, ALICE, images.url("chelsea.jpg")))
    await ingest.service.mark_seen(GUILD, CHANNEL_ID, 1)  # seenit stopped after message 1
    missed = [
        post(2, BOB, images.url("rocket.jpg")),
        post(3, BOB, images.url("mirrored.jpg")),  # a repost, but read from history
        post(4, BOB, by_bot=True),  # nothing to index
    ]
    channel = History([post(1, ALICE, images.url("chelsea.jpg")), *missed])
    assert await ingest.catch_up_missed(channel) == 2
    assert await ingest.service.cursor(CHANNEL_ID) == 3
    assert await ingest.catch_up_missed(channel) == 0  # nothing new after the cursor


async def test_a_channel_whose_history_cannot_be_read_is_tried_again(
    ingest: Ingest, images: Images, caplog: pytest.LogCaptureFixture
) -> None:
    async def alert(repost: Repost) -> None:
        raise AssertionError("no alert expected")

    await ingest.posted(post(1, ALICE, images.url("chelsea.jpg")), None, alert)
    ingest.session_started()  # a reconnect: the channel may have missed posts
    channel = History([])
    channel.refuse = True
    with caplog.at_level(logging.WARNING, logger="bot.ingest"):
        # The live message is handled anyway; the channel is tried again next time.
        await ingest.posted(post(3, BOB, images.url("coffee.jpg")), channel, alert)
    assert any("could not catch up channel" in r.getMessage() for r in caplog.records)
    assert await ingest.service.store.count_images(GUILD) == 2
    assert channel.reads == 1
    channel.refuse = False
    await ingest.posted(post(4, BOB), channel, alert)
    assert channel.reads == 2
    await ingest.posted(post(5, BOB), channel, alert)
    assert channel.reads == 2  # caught up once per session


async def test_posts_missed_while_catch_up_failed_are_read_later_not_skipped(
    ingest: Ingest, images: Images
) -> None:
    async def alert(repost: Repost) -> None:
        raise AssertionError("no alert expected")

    await ingest.posted(post(1, ALICE, images.url("chelsea.jpg")), None, alert)
    ingest.session_started()  # seenit was away while message 2 was posted
    missed = post(2, BOB, images.url("rocket.jpg"))
    channel = History([missed])
    channel.refuse = True
    await ingest.posted(post(3, BOB, images.url("coffee.jpg")), channel, alert)
    assert await ingest.service.store.count_images(GUILD) == 2
    # Message 3 is stored, but the cursor stays before the message still owed.
    assert await ingest.service.cursor(CHANNEL_ID) == 1
    channel.refuse = False
    channel.posts.append(post(3, BOB, images.url("coffee.jpg")))
    assert await ingest.catch_up_shed(lambda guild, channel_id: channel) == 1
    assert await ingest.service.store.count_images(GUILD) == 3
    assert await ingest.service.cursor(CHANNEL_ID) == 3


async def test_catch_up_after_a_live_post_moves_the_cursor(ingest: Ingest, images: Images) -> None:
    async def alert(repost: Repost) -> None:
        raise AssertionError("no alert expected")

    await ingest.posted(post(1, ALICE, images.url("chelsea.jpg")), None, alert)
    assert await ingest.service.cursor(CHANNEL_ID) == 1
    later = [post(2, BOB, images.url("rocket.jpg")), post(3, BOB, images.url("coffee.jpg"))]
    assert await ingest.catch_up_channel(History(later), 1, limit=100) == 2
    # Nothing live is in flight: the cursor follows the history read.
    assert await ingest.service.cursor(CHANNEL_ID) == 3


async def test_an_unreadable_image_is_skipped_and_the_others_stored(
    ingest: Ingest, images: Images
) -> None:
    outcomes = await ingest.ingest(
        post(1, ALICE, images.url("missing.jpg"), images.url("rocket.jpg"))
    )
    assert [(o.slot, o.stored is not None) for o in outcomes] == [(1, True)]


def test_media_compared_across_an_edit_ignores_signed_query_strings() -> None:
    before = [MediaRef(0, "https://cdn.example/a.png?ex=1&hm=2")]
    after = [MediaRef(0, "https://cdn.example/a.png?ex=3&hm=4")]
    assert shown_media(before) == shown_media(after)
    assert shown_media(before) != shown_media([MediaRef(1, "https://cdn.example/a.png")])


MOD_ROLE, OTHER_ROLE, HERE, ELSEWHERE = 50, 51, 60, 61
ALL_CHANNELS = GUILD - 1


def overrides_cases() -> Iterator[tuple[str, list[Override], list[Override], bool]]:
    yield "no entries: the default permissions decide", [], [], False
    yield "the member allowed", [Override(USER, ALICE, True)], [], True
    yield (
        "the member denied, a role allowed",
        [
            Override(USER, ALICE, False),
            Override(ROLE, MOD_ROLE, True),
        ],
        [],
        False,
    )
    yield (
        "one of the member's roles allowed",
        [
            Override(ROLE, OTHER_ROLE, False),
            Override(ROLE, MOD_ROLE, True),
        ],
        [],
        True,
    )
    yield "@everyone allowed", [Override(ROLE, GUILD, True)], [], True
    yield (
        "allowed, but not in this channel",
        [
            Override(ROLE, MOD_ROLE, True),
            Override(CHANNEL, HERE, False),
        ],
        [],
        False,
    )
    yield (
        "allowed, not in all channels but in this one",
        [
            Override(ROLE, MOD_ROLE, True),
            Override(CHANNEL, ALL_CHANNELS, False),
            Override(CHANNEL, HERE, True),
        ],
        [],
        True,
    )
    yield (
        "the application allows, the command says nothing",
        [],
        [Override(ROLE, MOD_ROLE, True)],
        True,
    )
    yield (
        "the command denies what the application allows",
        [Override(ROLE, MOD_ROLE, False)],
        [Override(ROLE, MOD_ROLE, True)],
        False,
    )
    yield (
        "the application keeps the command out of this channel",
        [Override(ROLE, MOD_ROLE, True)],
        [Override(CHANNEL, HERE, False)],
        False,
    )


@pytest.mark.parametrize(
    ("command", "application", "allowed"),
    [case[1:] for case in overrides_cases()],
    ids=[case[0] for case in overrides_cases()],
)
def test_integrations_overrides(
    command: list[Override], application: list[Override], allowed: bool
) -> None:
    asker = Asker(ALICE, [GUILD, MOD_ROLE], HERE, GUILD)
    assert overrides_allow(command, application, asker) is allowed


class GatedHistory(History):
    """A history that waits at its first post until told to go on (a slow start-up read)."""

    def __init__(self, posts: list[Post]) -> None:
        super().__init__(posts)
        self.reading = asyncio.Event()
        self.go_on = asyncio.Event()

    async def history(
        self,
        *,
        limit: int,
        after: int | None = None,
        before: int | None = None,
        oldest_first: bool = True,
    ) -> AsyncIterator[Post]:
        first = True
        async for p in super().history(
            limit=limit, after=after, before=before, oldest_first=oldest_first
        ):
            if first:
                self.reading.set()
                await self.go_on.wait()
                first = False
            yield p


async def test_a_post_arriving_during_the_start_up_catch_up_still_alerts(
    ingest: Ingest, images: Images
) -> None:
    alerts: list[Repost] = []

    async def alert(repost: Repost) -> None:
        alerts.append(repost)

    await ingest.posted(post(1, ALICE, images.url("chelsea.jpg")), None, alert)
    ingest.session_started()  # seenit restarts; message 2 was posted while it was away
    repost = post(3, BOB, images.url("mirrored.jpg"))
    channel = GatedHistory([post(2, BOB, images.url("coffee.jpg")), repost])
    catching_up = asyncio.create_task(ingest.catch_up_guild(GUILD, lambda g, c: channel))
    await channel.reading.wait()
    live = asyncio.create_task(ingest.posted(repost, channel, alert))
    await asyncio.sleep(0)  # the live handler starts and waits for the channel
    channel.go_on.set()
    assert await catching_up == 1  # message 2; message 3 is the live handler's
    await live
    assert [r.post.message_id for r in alerts] == [3]
    assert await ingest.service.cursor(CHANNEL_ID) == 3

"""seenit killed with SIGKILL mid-burst, then restarted on the same database.

What an operator is promised: the store survives the kill intact, nothing whose row was
committed before the kill is lost or stored twice, and the catch-up at start-up indexes what
was posted while the bot was down (README: "catches up on each watched channel from the last
message it saw"). Both engines: a SQLite file and a real PostgreSQL server.
"""

from __future__ import annotations

import contextlib
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakediscord import Channel, FakeDiscord
from tests.procbot import Database, ProcWorld, Row, bot_process, build_proc_world, distinct_images

# The fixtures postgres_server and postgres_url: one server per session, started on first use.
pytest_plugins = ("tests.pgserver",)

BURST = 60
WHILE_DOWN = 6
#: Kill once this many burst images are committed (well before all of them are).
KILL_AFTER = 8
RESTART_WAIT = 12.0


@pytest.fixture(params=["sqlite", "postgresql"])
async def proc_world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ProcWorld]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'seenit.db'}"  # absolute: four slashes
    else:
        url = request.getfixturevalue("postgres_url")
    async with FakeDiscord() as fake:
        yield build_proc_world(fake, Database(url), tmp_path)
        assert fake.internal_errors == []
        assert fake.unknown_requests == []


def duplicates(rows: list[Row]) -> list[Row]:
    """Keys (guild, message, slot) stored more than once."""
    return sorted(row for row, n in Counter(rows).items() if n > 1)


def describe_missing(
    posted: dict[int, tuple[str, Channel]], rows: list[Row], at_kill: list[Row]
) -> str:
    """Which posted messages are not stored, and where they sat relative to the kill."""
    stored = {m for _, m, _ in rows}
    killed = {m for _, m, _ in at_kill}
    missing = sorted(set(posted) - stored)
    lines = [f"{len(missing)} of {len(posted)} posted messages are not stored:"]
    for message_id in missing:
        phase, channel = posted[message_id]
        newer_stored_at_kill = any(
            m > message_id and posted[m][1] is channel for m in killed if m in posted
        )
        lines.append(
            f"  {message_id} ({phase}, #{channel.name}):"
            f" a newer message of the channel was committed before the kill: {newer_stored_at_kill}"
        )
    return "\n".join(lines)


async def test_sigkill_mid_burst_then_restart_loses_nothing(proc_world: ProcWorld) -> None:
    w = proc_world
    images = distinct_images(2 + BURST + WHILE_DOWN)
    seeds, burst, later = images[:2], images[2 : 2 + BURST], images[2 + BURST :]
    posted: dict[int, tuple[str, Channel]] = {}  # message id -> (phase, channel)

    async with bot_process(w, "first") as first:
        # One image per channel first: the catch-up starts from a channel's last seen message.
        for channel, image in zip((w.general, w.memes), seeds, strict=True):
            msg = await w.fake.post_message(channel, w.alice, attachments=[image])
            posted[int(msg["id"])] = ("seed", channel)
        await w.db.wait_count(lambda n: n == 2, wait=10.0, what="the two seed images")

        for n, image in enumerate(burst):
            channel = w.general if n % 2 else w.memes
            msg = await w.fake.post_message(channel, w.bob, attachments=[image])
            posted[int(msg["id"])] = ("burst", channel)
        await w.db.wait_count(
            lambda n: n >= 2 + KILL_AFTER, wait=10.0, what=f"{KILL_AFTER} burst images", poll=0.002
        )
        assert await first.sigkill() == -signal.SIGKILL  # with its hashing workers
        assert first.errors() == [], first.tail()

    # (a) The store is sound right after the kill.
    assert await w.db.integrity() == "ok"
    # (b) What was committed before the kill: the acknowledged images.
    at_kill = await w.db.rows()
    assert duplicates(at_kill) == []
    assert 2 + KILL_AFTER <= len(at_kill) < 2 + BURST, (
        f"{len(at_kill)} rows at the kill: the kill did not land mid-burst"
    )

    for n, image in enumerate(later):  # posted while the bot is down
        channel = w.memes if n % 2 else w.general
        msg = await w.fake.post_message(channel, w.alice, attachments=[image])
        posted[int(msg["id"])] = ("while down", channel)

    async with bot_process(w, "second") as second:
        try:
            # Done when everything is stored, or when the catch-up says it has finished
            # (it logs "caught up N images": there is always something posted while down).
            await w.db.wait_count(
                lambda n: n >= len(posted) or "caught up" in second.output(),
                wait=RESTART_WAIT,
                what="the catch-up",
            )
            missing = len(posted) - await w.db.count()
            assert missing == 0, f"{missing} images missing after the catch-up"
        except (TimeoutError, AssertionError) as exc:
            rows = await w.db.rows()
            raise AssertionError(
                f"{exc}\n{len(at_kill)} rows at the kill\n"
                + describe_missing(posted, rows, at_kill)
                + "\n--- second process ---\n"
                + second.tail()
            ) from None
        final = await w.db.rows()
        assert second.errors() == [], second.tail()

    assert set(at_kill) <= set(final)  # (b) nothing acknowledged was lost
    assert duplicates(final) == []  # ... nor stored twice
    # (c) Everything posted, during the burst and while down, is indexed exactly once.
    assert sorted(final) == sorted((w.guild.id, m, 0) for m in posted)
    assert await w.db.integrity() == "ok"


@pytest.mark.parametrize("proc_world", ["sqlite"], indirect=True)
async def test_a_message_still_downloading_at_the_kill_is_caught_up_after_restart(
    proc_world: ProcWorld,
) -> None:
    """Messages are processed concurrently, so a message can still be in flight when newer
    ones of its channel are committed (and the channel's cursor moved past it). A SIGKILL
    then must not lose it: the catch-up has to start at or before it."""
    w = proc_world
    seed, slow, *fast = distinct_images(6)
    down = fast.pop()
    async with bot_process(w, "first") as first:
        await w.fake.post_message(w.general, w.alice, attachments=[seed])
        await w.db.wait_count(lambda n: n == 1, wait=10.0, what="the seed image")
        # The CDN stalls on this one download (only the first attempt).
        stall = w.fake.inject_fault(
            "GET", f"/attachments/*/*/{slow[0]}", status=None, delay=3.0, count=1
        )
        stuck = await w.fake.post_message(w.general, w.bob, attachments=[slow])
        for image in fast:
            await w.fake.post_message(w.general, w.bob, attachments=[image])
        await w.db.wait_count(lambda n: n == 1 + len(fast), wait=10.0, what="the fast images")
        assert stall.hits == 1, "the stalled download has not started"
        assert await first.sigkill() == -signal.SIGKILL
    assert await w.db.integrity() == "ok"
    assert int(stuck["id"]) not in {m for _, m, _ in await w.db.rows()}

    late = await w.fake.post_message(w.general, w.alice, attachments=[down])
    async with bot_process(w, "second") as second:
        # The catch-up goes oldest first: once the message posted while down is stored,
        # it has gone past every older message it was going to index.
        rows = await w.db.wait_rows(
            lambda rows: any(m == int(late["id"]) for _, m, _ in rows),
            wait=10.0,
            what="the catch-up of the message posted while down",
        )
        stored = {m for _, m, _ in rows}
        assert second.errors() == [], second.tail()
    assert int(stuck["id"]) in stored, (
        "the message whose download was in flight at the kill was never indexed:"
        " the channel cursor had already moved past it"
    )


@pytest.mark.parametrize("proc_world", ["sqlite"], indirect=True)
async def test_hashing_workers_exit_when_the_bot_is_killed(proc_world: ProcWorld) -> None:
    """The kernel's OOM killer SIGKILLs the bot's main process only: its hashing workers
    must not live on as orphans."""
    w = proc_world
    async with bot_process(w, "oom") as bot:
        await w.fake.post_message(w.general, w.alice, attachments=distinct_images(1))
        await w.db.wait_count(lambda n: n == 1, wait=10.0, what="the image")
        workers = [p for p in bot.group_alive() if p != bot.proc.pid]
        assert workers, "no hashing worker process"
        assert await bot.sigkill(group=False) == -signal.SIGKILL
        with contextlib.suppress(TimeoutError):
            await w.fake.wait_until(
                lambda: not bot.group_alive(), timeout=3.0, what="the workers to exit"
            )
        assert bot.group_alive() == [], "hashing workers outlived the killed bot"

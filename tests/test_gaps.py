"""Gaps in what seenit heard of deletions, and checking posts before they are shown."""

from __future__ import annotations

import pytest

from bot.gaps import Gaps, still_there
from bot.matching import Match, Verdict
from bot.records import ImageRecord

A, B = 10, 20  # channels


def match(channel: int, message: int, distance: int = 0) -> Match:
    image = ImageRecord(message, 1, channel, message, 7, 0, message, 0, bytes(32), 90)
    return Match(image, Verdict(distance, 0, 0, True, ""))


@pytest.mark.parametrize(
    ("events", "channel", "message", "unsure"),
    [
        ([], A, 5, False),
        ([("session", 100)], A, 5, True),
        ([("session", 100)], A, 150, False),
        ([("lost", A)], A, 150, True),
        ([("lost", A)], B, 150, False),
        ([("lost", A), ("regained", A, 200)], A, 150, True),
        ([("lost", A), ("regained", A, 200)], A, 250, False),
        ([("lost", A), ("regained", A, 200)], B, 150, False),
        ([("session", 100), ("confirm", A, 5)], A, 5, False),
        ([("session", 100), ("confirm", A, 5), ("session", 300)], A, 5, True),
        ([("confirm", A, 5), ("lost", A)], A, 5, True),
        ([("session", 100), ("confirm", A, 5), ("lost", A), ("regained", A, 200)], A, 5, True),
    ],
)
def test_which_messages_may_be_gone(
    events: list[tuple[object, ...]], channel: int, message: int, unsure: bool
) -> None:
    gaps = Gaps()
    for name, *args in events:
        if name == "session":
            gaps.session_started(*args)  # type: ignore[arg-type]
        elif name == "lost":
            gaps.lost_sight(*args)  # type: ignore[arg-type]
        elif name == "regained":
            gaps.regained_sight(*args)  # type: ignore[arg-type]
        else:
            gaps.confirm(*args)  # type: ignore[arg-type]
    assert gaps.unsure(channel, message) is unsure


async def test_gone_posts_are_dropped_and_the_next_is_checked_in_turn() -> None:
    gaps = Gaps()
    gaps.session_started(100)
    deleted = {1, 2}
    unreadable = {4}
    asked: list[int] = []

    async def exists(channel: int, message: int) -> bool | None:
        asked.append(message)
        return None if message in unreadable else message not in deleted

    matches = [match(A, n) for n in (1, 2, 3, 4, 5, 150)]
    kept, gone = await still_there(matches, lambda ms: ms[:2], gaps, exists)
    assert [m.image.message_id for m in kept] == [3, 5, 150]
    assert sorted(gone) == [1, 2]  # 4 could not be checked: hidden, not forgotten
    assert sorted(asked) == [1, 2, 3, 4, 5]
    # Checked once: the next answer asks nothing.
    asked.clear()
    kept, gone = await still_there(kept, lambda ms: ms[:2], gaps, exists)
    assert (len(kept), gone, asked) == (3, [], [])


async def test_nothing_is_fetched_without_a_gap() -> None:
    async def exists(channel: int, message: int) -> bool | None:
        raise AssertionError("fetched")

    matches = [match(A, n) for n in range(1, 20)]
    kept, gone = await still_there(matches, lambda ms: ms, Gaps(), exists)
    assert kept == matches and gone == []


async def test_posts_in_a_channel_out_of_sight_are_hidden_without_asking() -> None:
    gaps = Gaps()
    gaps.session_started(100)
    gaps.lost_sight(A)
    asked: list[int] = []

    async def exists(channel: int, message: int) -> bool | None:
        asked.append(message)
        return True

    matches = [match(A, 1), match(B, 2)]
    kept, gone = await still_there(matches, lambda ms: ms, gaps, exists)
    assert (kept, gone, asked) == ([match(B, 2)], [], [2])

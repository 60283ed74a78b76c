"""The words seenit shows (bot/render.py), case by case."""

from __future__ import annotations

import pytest

from bot.guild_settings import GuildSettings
from bot.matching import Match, Verdict
from bot.records import ImageRecord
from bot.render import (
    alert_text,
    match_line,
    plural,
    progress_bar,
    results_text,
    scan_progress,
    settings_fields,
    when,
)

GUILD = 1


def match(n: int, *, distance: int = 0, posted_at: int | None = None) -> Match:
    """Earlier post number ``n``: message 100 + n by member 500 + n in channel 20, at n s."""
    posted = n * 1000 if posted_at is None else posted_at
    image = ImageRecord(n, GUILD, 20, 100 + n, 500 + n, 0, posted, 0, bytes(32), 50)
    return Match(image, Verdict(distance, 0, 0, True, ""))


def line(n: int, label: str = "", similar: int = 100) -> str:
    prefix = f"**{label}** " if label else ""
    return (
        f"{prefix}[<t:{n}:R> by <@{500 + n}> in <#20>]"
        f"(https://discord.com/channels/{GUILD}/20/{100 + n}) · {similar}% similar"
    )


@pytest.mark.parametrize(
    ("ms", "text"), [(0, "<t:0:R>"), (1_999, "<t:1:R>"), (1_700_000_000_123, "<t:1700000000:R>")]
)
def test_when(ms: int, text: str) -> None:
    assert when(ms) == text


@pytest.mark.parametrize(
    ("distance", "label", "expected"),
    [
        (0, "", line(3)),
        (29, "", line(3, similar=89)),
        (128, "Original:", line(3, "Original:", similar=50)),
    ],
)
def test_match_line(distance: int, label: str, expected: str) -> None:
    assert match_line(match(3, distance=distance), label=label) == expected


@pytest.mark.parametrize(
    ("posts", "expected"),
    [
        ([], ""),
        ([1], "Posted before\n" + line(1, "Original:")),
        ([2, 1], "Posted 2 times before\n" + line(1, "Original:") + "\n" + line(2)),
        (
            [3, 1, 2],
            "Posted 3 times before\n" + "\n".join([line(1, "Original:"), line(2), line(3)]),
        ),
        # The original, the latest two, and a count of the ones in between.
        (
            [5, 4, 3, 2, 1],
            "Posted 5 times before\n"
            + "\n".join([line(1, "Original:"), line(4), line(5), "…and 2 more"]),
        ),
    ],
)
def test_alert_text(posts: list[int], expected: str) -> None:
    assert alert_text([match(n) for n in posts]) == expected


@pytest.mark.parametrize(
    ("posts", "limit", "expected"),
    [
        ([], 10, "No earlier posts of this image that you can see."),
        ([2, 1], 10, f"1. {line(2)}\n2. {line(1)}"),  # in the order given: best first
        ([1, 2, 3], 2, f"1. {line(1)}\n2. {line(2)}\n…and 1 more"),
    ],
)
def test_results_text(posts: list[int], limit: int, expected: str) -> None:
    assert results_text([match(n) for n in posts], limit=limit) == expected


@pytest.mark.parametrize(
    ("count", "noun", "text"),
    [(0, "image", "0 images"), (1, "image", "1 image"), (1234, "repost", "1,234 reposts")],
)
def test_plural(count: int, noun: str, text: str) -> None:
    assert plural(count, noun) == text


@pytest.mark.parametrize(
    ("done", "total", "width", "bar"),
    [
        (0, 10, 4, "▱▱▱▱ 0%"),
        (5, 10, 4, "▰▰▱▱ 50%"),
        (10, 10, 4, "▰▰▰▰ 100%"),
        (15, 10, 4, "▰▰▰▰ 100%"),  # never past full
        (3, 0, 4, "▱▱▱▱ 0%"),  # nothing to do yet
    ],
)
def test_progress_bar(done: int, total: int, width: int, bar: str) -> None:
    assert progress_bar(done, total, width) == bar


@pytest.mark.parametrize(
    ("read", "limit", "elapsed", "finished", "expected"),
    [
        (
            100,
            1000,
            10.0,
            False,
            "Scanning <#7>…\n▰▰▱▱▱▱▱▱▱▱▱▱▱▱▱▱▱▱▱▱ 10%\n"
            "100 messages read · 5 images indexed · 1 repost found\n"
            "10 messages/s, about 1 min 30 s left at most",
        ),
        (
            0,
            1000,
            0.0,
            False,
            "Scanning <#7>…\n▱▱▱▱▱▱▱▱▱▱▱▱▱▱▱▱▱▱▱▱ 0%\n"
            "0 messages read · 5 images indexed · 1 repost found\n0 messages/s",
        ),
        (
            1000,
            1000,
            7265.0,
            True,
            "Scanned <#7>: 1,000 messages read · 5 images indexed · 1 repost found,"
            " in 2 h 1 min (0 messages/s).",
        ),
        (
            1,
            1000,
            2.5,
            True,
            "Scanned <#7>: 1 message read · 5 images indexed · 1 repost found,"
            " in 2 s (0 messages/s).",
        ),
    ],
)
def test_scan_progress(
    read: int, limit: int, elapsed: float, finished: bool, expected: str
) -> None:
    text = scan_progress(
        7, read=read, indexed=5, reposts=1, limit=limit, elapsed=elapsed, finished=finished
    )
    assert text == expected


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            GuildSettings(),
            {
                "Watching": "every channel I can read",
                "Sensitivity": "normal (distance ≤ 29 of 256)",
                "Meme templates": "ignored (same picture, new caption)",
                "Alerts": "reply",
                "Ping the author": "no",
                "Delete reposts": "no",
                "Scope": "whole server, any age",
                "Own earlier posts": "ignored",
                "Exempt roles": "none",
                "Exempt members": "none",
                "Moderator roles": "none",
                "Remove alert with its message": "yes",
            },
        ),
        (
            GuildSettings(
                unwatched=frozenset({9, 3}),
                sensitivity="strict",
                threshold=18,
                alert_style="log",
                log_channel_id=44,
                templates="alert",
                scope="channel",
                max_age_days=30,
                exempt_roles=frozenset({8}),
                exempt_users=frozenset({7, 6}),
                moderator_roles=frozenset({5}),
            ),
            {
                "Watching": "every channel I can read, except <#3>, <#9>",
                "Sensitivity": "strict (distance ≤ 18 of 256, expert threshold)",
                "Meme templates": "alerted",
                "Alerts": "log in <#44>",
                "Scope": "same channel, 30 days",
                "Exempt roles": "<@&8>",
                "Exempt members": "<@6>, <@7>",
                "Moderator roles": "<@&5>",
            },
        ),
        (
            GuildSettings(watch_mode="listed", watched=frozenset({12}), alert_style="log"),
            {"Watching": "only <#12>", "Alerts": "log (no channel)"},
        ),
    ],
)
def test_settings_fields(settings: GuildSettings, expected: dict[str, str]) -> None:
    fields = dict(settings_fields(settings))
    assert {name: fields[name] for name in expected} == expected

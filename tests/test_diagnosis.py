"""Self-diagnosis over plain permission sets: what is missing and what it breaks."""

from __future__ import annotations

import pytest

from bot import diagnosis
from bot.diagnosis import Problem, diagnose, new_problems
from bot.guild_settings import GuildSettings
from bot.i18n import ENGLISH

ALL = frozenset(diagnosis.PERMISSIONS)
BASIC = ALL - {"manage_messages"}


@pytest.mark.parametrize(
    ("settings", "granted", "expected"),
    [
        (GuildSettings(), BASIC, []),
        (
            GuildSettings(),
            BASIC - {"send_messages", "embed_links"},
            [Problem(1, ("send_messages", "embed_links"), "reply")],
        ),
        (GuildSettings(alert_style="silent"), BASIC - {"send_messages"}, []),
        (
            GuildSettings(alert_style="reaction"),
            BASIC - {"add_reactions", "send_messages"},
            [Problem(1, ("add_reactions",), "reaction")],
        ),
        (
            GuildSettings(delete_reposts=True),
            BASIC,
            [Problem(1, ("manage_messages",), "delete")],
        ),
        (
            GuildSettings(alert_pictures=True),
            BASIC - {"attach_files"},
            [Problem(1, ("attach_files",), "pictures")],
        ),
        # Nothing else is named where seenit cannot even look.
        (
            GuildSettings(delete_reposts=True),
            frozenset(),
            [Problem(1, ("view_channel",), "view")],
        ),
    ],
)
def test_watched_channel_problems(
    settings: GuildSettings, granted: frozenset[str], expected: list[Problem]
) -> None:
    assert diagnose(settings, {1: granted}, None) == expected


def test_log_channel_problems() -> None:
    log = GuildSettings(alert_style="log", log_channel_id=9)
    assert diagnose(log, {}, ALL) == []
    assert diagnose(log, {}, ALL - {"embed_links"}) == [
        Problem(9, ("embed_links",), "log", log=True)
    ]
    assert diagnose(log, {}, None) == [Problem(None, (), "no_log_channel", True)]


def test_new_problems_are_only_newly_missing_permissions() -> None:
    before = [Problem(1, ("send_messages",), "reply")]
    same = [Problem(1, ("send_messages",), "reply")]
    more = [Problem(1, ("send_messages", "manage_messages"), "reply")]
    assert new_problems(before, same) == []
    assert new_problems(before, more) == more
    assert new_problems([], same) == same


def test_problem_lines_group_channels_with_the_same_problem() -> None:
    problems = [Problem(c, ("manage_messages",), "delete") for c in range(1, 8)]
    (line,) = diagnosis.problem_lines(ENGLISH, problems)
    assert line.startswith("⚠️ <#1>, <#2>, <#3>, <#4>, <#5> and 2 more: missing Manage Messages")


@pytest.mark.parametrize(
    ("requested", "seen", "empty", "state"),
    [
        (False, True, 0, "not requested"),
        (True, False, 0, "unknown"),
        (True, True, 0, "delivered"),
        (True, True, 2, "delivered"),
        (True, False, 3, "empty"),
        (True, True, 5, "empty"),
    ],
)
def test_content_state(requested: bool, seen: bool, empty: int, state: str) -> None:
    got = diagnosis.content_state(requested=requested, seen_with_content=seen, empty_in_a_row=empty)
    assert got == state
    assert diagnosis.content_line(ENGLISH, got, empty)

"""The public-visibility rule, on plain data: every reader of one channel can read another?"""

from __future__ import annotations

import pytest

from bot.audience import (
    ADMINISTRATOR,
    MANAGE_THREADS,
    READ_MESSAGE_HISTORY,
    VIEW_CHANNEL,
    Overwrite,
    Place,
    Server,
    everyone_here_can_read,
)

GUILD = 1
MODS, FANS, MUTED, ADMINS, BOTS = 10, 11, 12, 13, 14
ALICE = 100
READ = VIEW_CHANNEL | READ_MESSAGE_HISTORY

SERVER = Server(
    GUILD,
    {
        GUILD: READ,
        MODS: READ | MANAGE_THREADS,
        FANS: READ,
        MUTED: 0,
        ADMINS: ADMINISTRATOR,
        BOTS: READ,
    },
)


def role(target: int, allow: int = 0, deny: int = 0) -> Overwrite:
    return Overwrite(target, member=False, allow=allow, deny=deny)


def member(target: int, allow: int = 0, deny: int = 0) -> Overwrite:
    return Overwrite(target, member=True, allow=allow, deny=deny)


def place(channel_id: int, *overwrites: Overwrite, private_thread: bool = False) -> Place:
    return Place(channel_id, tuple(overwrites), private_thread=private_thread)


PUBLIC = place(2)
OTHER_PUBLIC = place(3)
HIDDEN = role(GUILD, deny=VIEW_CHANNEL)
STAFF = place(4, HIDDEN, role(MODS, allow=VIEW_CHANNEL))
MOD_CHAT = place(5, HIDDEN, role(MODS, allow=VIEW_CHANNEL))
ADMIN_ONLY = place(6, HIDDEN)
FAN_CLUB = place(7, HIDDEN, role(FANS, allow=VIEW_CHANNEL))

CASES = [
    ("the same channel", STAFF, STAFF, True),
    ("two public channels", PUBLIC, OTHER_PUBLIC, True),
    ("public to mods-only", PUBLIC, STAFF, False),
    ("mods-only to public", STAFF, PUBLIC, True),
    ("mods-only to another mods-only", MOD_CHAT, STAFF, True),
    ("admins-only to mods-only: administrators read everything", ADMIN_ONLY, STAFF, True),
    ("mods-only to admins-only", STAFF, ADMIN_ONLY, False),
    ("fans-only to mods-only", FAN_CLUB, STAFF, False),
    (
        # Neither role alone shows it: a member with both reads here (fans' allow) and
        # not there (muted's deny, no allow): every combination must be looked at.
        "a combination of roles",
        FAN_CLUB,
        place(8, role(MUTED, deny=VIEW_CHANNEL)),
        False,
    ),
    (
        "an allow beats a deny among roles",
        FAN_CLUB,
        place(8, role(MUTED, deny=VIEW_CHANNEL), role(FANS, allow=VIEW_CHANNEL)),
        True,
    ),
    (
        "a role without View Channel at server level gets it from an overwrite",
        place(9, role(MUTED, allow=VIEW_CHANNEL)),
        PUBLIC,
        True,
    ),
    (
        "a member let in here, roles unknown",
        place(9, HIDDEN, member(ALICE, allow=VIEW_CHANNEL)),
        STAFF,
        False,
    ),
    (
        "a member let in on both sides",
        place(9, HIDDEN, member(ALICE, allow=VIEW_CHANNEL)),
        place(10, HIDDEN, member(ALICE, allow=VIEW_CHANNEL)),
        True,
    ),
    ("a member shut out there", PUBLIC, place(10, member(ALICE, deny=VIEW_CHANNEL)), False),
    ("no history there", PUBLIC, place(10, role(GUILD, deny=READ_MESSAGE_HISTORY)), False),
    (
        "a private thread seen from a public channel",
        PUBLIC,
        place(11, private_thread=True),
        False,
    ),
    (
        "a private thread seen from a channel only thread moderators read",
        MOD_CHAT,
        place(11, private_thread=True),
        True,
    ),
    ("a private thread to its own parent channel", place(11, private_thread=True), PUBLIC, True),
    (
        "a public thread of a mods-only channel seen from a public channel",
        PUBLIC,
        place(12, HIDDEN, role(MODS, allow=VIEW_CHANNEL)),
        False,
    ),
]


@pytest.mark.parametrize(
    ("here", "there", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_everyone_here_can_read(here: Place, there: Place, expected: bool) -> None:
    assert everyone_here_can_read(SERVER, here, there) is expected


def test_too_many_role_combinations_hide_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    bits = (VIEW_CHANNEL, READ_MESSAGE_HISTORY, MANAGE_THREADS, ADMINISTRATOR)
    server = Server(GUILD, {GUILD: READ} | {1000 + n: bit for n, bit in enumerate(bits)})
    here, there = place(2, HIDDEN), place(3, HIDDEN)
    assert everyone_here_can_read(server, here, there)
    # Past the bound the answer is "no", never a long search.
    monkeypatch.setattr("bot.audience.MAX_COMBINATIONS", 3)
    assert not everyone_here_can_read(server, here, there)

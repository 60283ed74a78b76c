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
    server = Server(GUILD, {GUILD: READ, 1000: 0, 1001: 0, 1002: 0})
    overwrites = (
        role(1000, allow=VIEW_CHANNEL),
        role(1001, deny=VIEW_CHANNEL),
        role(1002, allow=READ_MESSAGE_HISTORY),
    )
    here, there = place(2, *overwrites), place(3, *overwrites)
    assert everyone_here_can_read(server, here, there)
    # Past the bound the answer is "no", never a long search.
    monkeypatch.setattr("bot.audience.MAX_COMBINATIONS", 3)
    assert not everyone_here_can_read(server, here, there)


def test_everyone_an_administrator() -> None:
    server = Server(GUILD, {GUILD: ADMINISTRATOR})
    assert everyone_here_can_read(server, PUBLIC, place(4, HIDDEN, private_thread=True))


def _brute_force(server: Server, here: Place, there: Place, member_id: int) -> bool:
    """Every set of roles, with and without the named member, resolved by the fake Discord."""
    from itertools import combinations

    from tests.fakediscord import permissions as fake

    def fake_overwrites(p: Place) -> list[fake.Overwrite]:
        return [
            fake.Overwrite(o.target_id, int(o.member), allow=o.allow, deny=o.deny)
            for o in p.overwrites
        ]

    def perms(member: int, roles: tuple[int, ...], p: Place) -> int:
        base = fake.base_permissions(
            everyone_permissions=server.role_permissions[GUILD],
            role_permissions=[server.role_permissions[r] for r in roles],
        )
        resolved = fake.apply_overwrites(
            base,
            guild_id=GUILD,
            member_id=member,
            member_role_ids=roles,
            overwrites=fake_overwrites(p),
        )
        return fake.apply_implicit(resolved)

    needed = READ | (MANAGE_THREADS if there.private_thread else 0)
    others = [r for r in server.role_permissions if r != GUILD]
    for size in range(len(others) + 1):
        for roles in combinations(others, size):
            for member in (1, member_id):
                if perms(member, roles, here) & VIEW_CHANNEL and not fake.has(
                    perms(member, roles, there), needed
                ):
                    return False
    return True


@pytest.mark.parametrize("seed", range(300))
def test_the_rule_agrees_with_every_role_combination_resolved_one_by_one(seed: int) -> None:
    import random

    rng = random.Random(seed)
    bits = [0, VIEW_CHANNEL, READ_MESSAGE_HISTORY, READ]
    bases = [0, VIEW_CHANNEL, READ, READ | MANAGE_THREADS, ADMINISTRATOR if seed % 7 == 0 else 0]
    roles = {GUILD: rng.choice([0, VIEW_CHANNEL, READ])}
    roles |= {20 + n: rng.choice(bases) for n in range(rng.randint(0, 6))}
    member_id = 500

    def pair() -> tuple[int, int]:
        # Discord keeps an overwrite's allow and deny apart.
        allow = rng.choice(bits)
        return allow, rng.choice(bits) & ~allow

    def random_place(channel_id: int) -> Place:
        others = sorted(roles)[1:]
        targets = [GUILD, *rng.sample(others, min(len(others), rng.randint(0, 4)))]
        overwrites = []
        for target in targets:
            if rng.random() < 0.7:
                allow, deny = pair()
                overwrites.append(role(target, allow=allow, deny=deny))
        if rng.random() < 0.3:
            allow, deny = pair()
            overwrites.append(member(member_id, allow=allow, deny=deny))
        return place(channel_id, *overwrites, private_thread=rng.random() < 0.2)

    server = Server(GUILD, roles)
    here, there = random_place(2), random_place(3)
    assert everyone_here_can_read(server, here, there) is _brute_force(
        server, here, there, member_id
    )

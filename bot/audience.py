"""Who may read what: may a post in one channel show a message from another?

Everything seenit posts in a channel (a repost alert, a public answer, a report in a log
channel) is read by everyone who can read that channel. It may link an earlier message only
when every one of those readers can also open that message. The bot has no member list (that
needs a privileged intent), so the decision is made over every combination of roles a member
might hold, and over every member named in an overwrite with whatever roles they might hold:
if any of them could read the channel but not the earlier message, the message stays hidden.

Permissions resolve as Discord documents them: @everyone's permissions OR'ed with the roles',
Administrator (or ownership of the server) grants everything; then the channel's overwrites in
the order @everyone, the member's roles combined (an allow wins over a deny), the member; no
View Channel means nothing. A channel synced with its category carries the category's
overwrites as its own, which is what Discord applies, so only a channel's own overwrites count.
Threads take their parent's overwrites. A private thread is open only to its members and to
those with Manage Threads in the parent; the member list is unknown, so elsewhere only the
latter count as its readers.

Pure: plain ints, no discord.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
READ_MESSAGE_HISTORY = 1 << 16
MANAGE_THREADS = 1 << 34
#: Past this many distinct role combinations the answer is "no" rather than slow.
MAX_COMBINATIONS = 4096


@dataclass(frozen=True, slots=True)
class Overwrite:
    """A channel permission overwrite for a role (``@everyone`` has the server's id) or member."""

    target_id: int
    member: bool
    allow: int
    deny: int


@dataclass(frozen=True, slots=True)
class Place:
    """A channel as far as reading goes: the overwrites that decide (a thread's parent's)."""

    channel_id: int
    overwrites: tuple[Overwrite, ...] = ()
    #: A private thread: readable by its members and by those with Manage Threads.
    private_thread: bool = False


@dataclass(frozen=True, slots=True)
class Server:
    """The server-wide part: each role's permissions (``@everyone`` under the server's id)."""

    guild_id: int
    role_permissions: Mapping[int, int]


# A combination of roles: what it adds up to, for the two places compared.
# (server permissions, allow here, deny here, allow there, deny there)
_Combo = tuple[int, int, int, int, int]


def _role_overwrites(place: Place, guild_id: int, mask: int) -> dict[int, tuple[int, int]]:
    return {
        ow.target_id: (ow.allow & mask, ow.deny & mask)
        for ow in place.overwrites
        if not ow.member and ow.target_id != guild_id
    }


def _single(place: Place, target_id: int, mask: int, *, member: bool) -> tuple[int, int]:
    for ow in place.overwrites:
        if ow.member == member and ow.target_id == target_id:
            return ow.allow & mask, ow.deny & mask
    return 0, 0


def _resolve(
    base: int,
    everyone: tuple[int, int],
    roles: tuple[int, int],
    member: tuple[int, int],
) -> int:
    perms = base
    for allow, deny in (everyone, roles, member):
        perms = (perms & ~deny) | allow
    return perms if perms & VIEW_CHANNEL else 0


def _combinations(server: Server, here: Place, there: Place, needed: int) -> set[_Combo] | None:
    """Every distinct thing a set of roles can add up to (None: too many to look at).

    Only the bits that decide are kept (View Channel here; what reading there needs), so
    combinations stay few. Administrator roles are left out: a member holding one reads
    everything, so no combination with one can be a reader here who cannot read there.
    """
    gid = server.guild_id
    here_roles = _role_overwrites(here, gid, VIEW_CHANNEL)
    there_roles = _role_overwrites(there, gid, needed)
    base_mask = VIEW_CHANNEL | needed
    everyone = server.role_permissions.get(gid, 0) & base_mask
    vectors: set[_Combo] = set()
    for role_id, perms in server.role_permissions.items():
        if role_id == gid or perms & ADMINISTRATOR:
            continue
        ah, dh = here_roles.get(role_id, (0, 0))
        at, dt = there_roles.get(role_id, (0, 0))
        vectors.add((perms & base_mask, ah, dh, at, dt))
    combos: set[_Combo] = {(everyone, 0, 0, 0, 0)}
    for vector in vectors:
        b, ah, dh, at, dt = vector
        combos |= {(c[0] | b, c[1] | ah, c[2] | dh, c[3] | at, c[4] | dt) for c in combos}
        if len(combos) > MAX_COMBINATIONS:
            return None
    return combos


def everyone_here_can_read(server: Server, here: Place, there: Place) -> bool:
    """Whether every member who can read ``here`` can also read messages in ``there``."""
    if here.channel_id == there.channel_id:
        return True
    gid = server.guild_id
    if server.role_permissions.get(gid, 0) & ADMINISTRATOR:
        return True  # everyone is an administrator
    needed = VIEW_CHANNEL | READ_MESSAGE_HISTORY
    if there.private_thread:
        needed |= MANAGE_THREADS
    combos = _combinations(server, here, there, needed)
    if combos is None:
        return False
    everyone_here = _single(here, gid, VIEW_CHANNEL, member=False)
    everyone_there = _single(there, gid, needed, member=False)
    named = {ow.target_id for place in (here, there) for ow in place.overwrites if ow.member}
    # None: a member with no overwrite of their own.
    people: list[tuple[tuple[int, int], tuple[int, int]]] = [((0, 0), (0, 0))]
    people += [
        (_single(here, m, VIEW_CHANNEL, member=True), _single(there, m, needed, member=True))
        for m in sorted(named)
    ]
    for base, ah, dh, at, dt in combos:
        for member_here, member_there in people:
            reads_here = _resolve(base, everyone_here, (ah, dh), member_here) & VIEW_CHANNEL
            if not reads_here:
                continue
            reads_there = _resolve(base, everyone_there, (at, dt), member_there)
            if reads_there & needed != needed:
                return False
    return True

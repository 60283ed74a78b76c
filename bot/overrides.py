"""A server's Integrations settings for seenit's commands, and what they allow. Pure.

Server Settings -> Integrations -> seenit lets a server open a command to roles, members
and channels beyond its default permissions. Discord sends these entries as JSON; they are
cached per server until Discord says they changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Discord's application command permission types.
ROLE, USER, CHANNEL = 1, 2, 3


@dataclass(frozen=True, slots=True)
class Override:
    """One entry of a command's permissions in a server's Integrations settings."""

    kind: int
    target_id: int
    allowed: bool


@dataclass(frozen=True, slots=True)
class Asker:
    """Who uses a command, and where: a member's id and role ids, a channel, a server."""

    member_id: int
    role_ids: Collection[int]
    channel_id: int
    guild_id: int


def member_says(entries: Sequence[Override], asker: Asker) -> bool | None:
    """What the entries say about a member: user entry, then any role, then @everyone."""
    for e in entries:
        if e.kind == USER and e.target_id == asker.member_id:
            return e.allowed
    role_ids = {r for r in asker.role_ids if r != asker.guild_id}
    roles = [e.allowed for e in entries if e.kind == ROLE and e.target_id in role_ids]
    if roles:
        return any(roles)
    for e in entries:
        if e.kind == ROLE and e.target_id == asker.guild_id:
            return e.allowed
    return None


def channel_says(entries: Sequence[Override], asker: Asker) -> bool | None:
    """What the entries say about a channel: its own entry, then "all channels" (guild id - 1)."""
    for wanted in (asker.channel_id, asker.guild_id - 1):
        for e in entries:
            if e.kind == CHANNEL and e.target_id == wanted:
                return e.allowed
    return None


def overrides_allow(
    command: Sequence[Override], application: Sequence[Override], asker: Asker
) -> bool:
    """Whether Integrations overrides let a member lacking the default permissions use a command.

    Command-level entries win over application-level ones; with no entry about the member the
    command's default permissions decide (and the member lacks them).
    """
    said = member_says(command, asker)
    if said is None:
        said = member_says(application, asker)
    where = channel_says(command, asker)
    if where is None:
        where = channel_says(application, asker)
    return bool(said) and where is not False


def parse_overrides(raw: Sequence[Mapping[str, Any]]) -> dict[int, list[Override]]:
    """Discord's guild command permissions: command (or application) id -> its entries."""
    return {
        int(command["id"]): [
            Override(int(p["type"]), int(p["id"]), bool(p["permission"]))
            for p in command["permissions"]
        ]
        for command in raw
    }


class OverrideCache:
    """Each server's overrides, read once and kept until Discord says they changed."""

    def __init__(self) -> None:
        self._guilds: dict[int, dict[int, list[Override]]] = {}

    async def of(
        self,
        guild_id: int,
        read: Callable[[], Awaitable[dict[int, list[Override]] | None]],
    ) -> dict[int, list[Override]]:
        """The server's overrides; ``read`` asks Discord (None: could not, try next time)."""
        cached = self._guilds.get(guild_id)
        if cached is not None:
            return cached
        found = await read()
        if found is None:
            return {}
        self._guilds[guild_id] = found
        return found

    def forget(self, guild_id: int) -> None:
        self._guilds.pop(guild_id, None)

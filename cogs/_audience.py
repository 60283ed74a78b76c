"""Discord glue for bot/audience.py: who reads a channel, from discord.py's cached objects."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.audience import Overwrite, Place, Server, everyone_here_can_read
from bot.matching import Match


def server_of(guild: discord.Guild) -> Server:
    return Server(guild.id, {role.id: role.permissions.value for role in guild.roles})


def _overwrites(channel: discord.abc.GuildChannel) -> tuple[Overwrite, ...]:
    found = []
    for target, overwrite in channel.overwrites.items():
        # Targets missing from the cache come back as discord.Object carrying their type.
        is_role = isinstance(target, discord.Role) or getattr(target, "type", None) is discord.Role
        allow, deny = overwrite.pair()
        found.append(Overwrite(target.id, member=not is_role, allow=allow.value, deny=deny.value))
    return tuple(found)


def place_of(guild: discord.Guild, channel_id: int) -> Place | None:
    """The overwrites deciding who reads a channel or thread (None: not in the cache)."""
    channel = guild.get_channel_or_thread(channel_id)
    if isinstance(channel, discord.Thread):
        parent = channel.parent
        if parent is None:
            return None
        private = channel.type == discord.ChannelType.private_thread
        return Place(channel_id, _overwrites(parent), private_thread=private)
    if channel is None or isinstance(channel, discord.CategoryChannel):
        return None
    return Place(channel_id, _overwrites(channel))


def everyone_reads(guild: discord.Guild, here_id: int, there_id: int) -> bool:
    """Whether every reader of channel ``here_id`` can read messages of ``there_id``."""
    if here_id == there_id:
        return True
    here, there = place_of(guild, here_id), place_of(guild, there_id)
    if here is None or there is None:
        return False
    return everyone_here_can_read(server_of(guild), here, there)


def readable_by_all(guild: discord.Guild, here_id: int, matches: Sequence[Match]) -> list[Match]:
    """The matches every reader of channel ``here_id`` may open (a public post may show them)."""
    verdicts: dict[int, bool] = {}
    kept = []
    for m in matches:
        channel_id = m.image.channel_id
        if channel_id not in verdicts:
            verdicts[channel_id] = everyone_reads(guild, here_id, channel_id)
        if verdicts[channel_id]:
            kept.append(m)
    return kept

"""Who may do what: Manage Server / Manage Messages, moderator roles, Integrations overrides.

Admin commands are open to members with Manage Server, to the server's moderator roles, and
to whoever the server's Integrations settings (Server Settings -> Integrations -> seenit)
allow to use the command. The moderator buttons under alerts are open to Manage Messages and
the moderator roles.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast

import discord
from discord.ext import commands

from bot.guild_settings import GuildSettings
from cogs._discord import bot_of

log = logging.getLogger(__name__)

#: /repost subcommands the moderator roles may not use: naming moderators, deleting everything.
MANAGE_SERVER_ONLY = frozenset({"moderators", "purge"})
#: Discord's application command permission types.
ROLE, USER, CHANNEL = 1, 2, 3


@dataclass(frozen=True, slots=True)
class Override:
    """One entry of a command's permissions in a server's Integrations settings."""

    kind: int
    target_id: int
    allowed: bool


def _member_says(entries: list[Override], member: discord.Member, guild_id: int) -> bool | None:
    """What the entries say about a member: user entry, then any role, then @everyone."""
    for e in entries:
        if e.kind == USER and e.target_id == member.id:
            return e.allowed
    role_ids = {r.id for r in member.roles if r.id != guild_id}
    roles = [e.allowed for e in entries if e.kind == ROLE and e.target_id in role_ids]
    if roles:
        return any(roles)
    for e in entries:
        if e.kind == ROLE and e.target_id == guild_id:
            return e.allowed
    return None


def _channel_says(entries: list[Override], channel_id: int, guild_id: int) -> bool | None:
    """What the entries say about a channel: its own entry, then "all channels" (guild id - 1)."""
    for wanted in (channel_id, guild_id - 1):
        for e in entries:
            if e.kind == CHANNEL and e.target_id == wanted:
                return e.allowed
    return None


def overrides_allow(
    command: list[Override],
    application: list[Override],
    member: discord.Member,
    channel_id: int,
    guild_id: int,
) -> bool:
    """Whether Integrations overrides let a member lacking the default permissions use a command.

    Command-level entries win over application-level ones; with no entry about the member the
    command's default permissions decide (and the member lacks them).
    """
    said = _member_says(command, member, guild_id)
    if said is None:
        said = _member_says(application, member, guild_id)
    where = _channel_says(command, channel_id, guild_id)
    if where is None:
        where = _channel_says(application, channel_id, guild_id)
    return bool(said) and where is not False


def has_moderator_role(member: object, settings: GuildSettings) -> bool:
    roles = getattr(member, "roles", ())
    return any(r.id in settings.moderator_roles for r in roles)


class Access(commands.Cog):
    """Answers "may this member do that?" and caches the server's command overrides."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot_of(bot)
        self.service = self.bot.service
        #: guild id -> command (or application) id -> its overrides in that guild.
        self._overrides: dict[int, dict[int, list[Override]]] = {}

    async def _guild_overrides(self, guild_id: int) -> dict[int, list[Override]]:
        cached = self._overrides.get(guild_id)
        if cached is not None:
            return cached
        app_id = self.bot.application_id
        found: dict[int, list[Override]] = {}
        if app_id is not None:
            try:
                raw = await self.bot.http.get_guild_application_command_permissions(
                    app_id, guild_id
                )
            except discord.HTTPException as exc:
                log.info("could not read command permissions of guild %d: %s", guild_id, exc)
                return {}
            for command in raw:
                found[int(command["id"])] = [
                    Override(int(p["type"]), int(p["id"]), bool(p["permission"]))
                    for p in command["permissions"]
                ]
        self._overrides[guild_id] = found
        return found

    @commands.Cog.listener()
    async def on_raw_app_command_permissions_update(
        self, payload: discord.RawAppCommandPermissionsUpdateEvent
    ) -> None:
        self._overrides.pop(payload.guild.id, None)

    async def integrations_allow(self, interaction: discord.Interaction, command_id: int) -> bool:
        """Whether the server's Integrations settings let this member use a command."""
        guild, member = interaction.guild, interaction.user
        if guild is None or not isinstance(member, discord.Member):
            return False
        found = await self._guild_overrides(guild.id)
        application = found.get(self.bot.application_id or 0, [])
        return overrides_allow(
            found.get(command_id, []), application, member, interaction.channel_id or 0, guild.id
        )

    async def may_administer(
        self, interaction: discord.Interaction, command_id: int | None = None
    ) -> bool:
        """Manage Server, a moderator role, or the server's Integrations settings allow it."""
        if interaction.guild is None:
            return False
        if interaction.permissions.manage_guild:
            return True
        settings = await self.service.settings(interaction.guild.id)
        if has_moderator_role(interaction.user, settings):
            return True
        return command_id is not None and await self.integrations_allow(interaction, command_id)

    async def may_moderate(self, interaction: discord.Interaction) -> bool:
        """Manage Messages or a moderator role: the buttons under alerts."""
        if interaction.guild is None:
            return False
        if interaction.permissions.manage_messages:
            return True
        settings = await self.service.settings(interaction.guild.id)
        return has_moderator_role(interaction.user, settings)


def access_of(bot: discord.Client) -> Access:
    # Not isinstance: the extension loader executes this module afresh, so a module that
    # imported it earlier may hold another copy of the class.
    cog = bot_of(bot).get_cog("Access")
    assert cog is not None
    return cast("Access", cog)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Access(bot))

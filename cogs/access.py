"""Who may do what: Manage Server / Manage Messages, moderator roles, Integrations overrides.

Admin commands are open to members with Manage Server, to the server's moderator roles, and
to whoever the server's Integrations settings (Server Settings -> Integrations -> seenit)
allow to use the command. The moderator buttons under alerts are open to Manage Messages and
the moderator roles. A refusal is raised as :class:`Refused`, which the command tree's error
handler answers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.client import Refused
from bot.guild_settings import GuildSettings
from bot.overrides import Asker, Override, overrides_allow, parse_overrides

if TYPE_CHECKING:
    from bot.client import SeenitBot
    from cogs._discord import Interaction

log = logging.getLogger(__name__)

#: /repost subcommands the moderator roles may not use: naming moderators, deleting everything.
MANAGE_SERVER_ONLY = frozenset({"moderators", "purge"})


def has_moderator_role(member: object, settings: GuildSettings) -> bool:
    roles = getattr(member, "roles", ())
    return any(r.id in settings.moderator_roles for r in roles)


def command_id_of(interaction: Interaction) -> int | None:
    """The id of the top-level command an interaction invoked."""
    data: dict[str, object] = dict(interaction.data or {})
    raw = data.get("id")
    return int(raw) if isinstance(raw, str | int) else None


async def _guild_overrides(bot: SeenitBot, guild_id: int) -> dict[int, list[Override]]:
    async def read() -> dict[int, list[Override]] | None:
        if bot.application_id is None:
            return {}
        try:
            raw = await bot.http.get_guild_application_command_permissions(
                bot.application_id, guild_id
            )
        except discord.HTTPException as exc:
            log.info("could not read command permissions of guild %d: %s", guild_id, exc)
            return None
        return parse_overrides(raw)

    return await bot.overrides.of(guild_id, read)


async def integrations_allow(interaction: Interaction, command_id: int) -> bool:
    """Whether the server's Integrations settings let this member use a command."""
    guild, member, bot = interaction.guild, interaction.user, interaction.client
    if guild is None or not isinstance(member, discord.Member):
        return False
    found = await _guild_overrides(bot, guild.id)
    application = found.get(bot.application_id or 0, [])
    asker = Asker(member.id, [r.id for r in member.roles], interaction.channel_id or 0, guild.id)
    return overrides_allow(found.get(command_id, []), application, asker)


async def may_administer(interaction: Interaction, command_id: int | None = None) -> bool:
    """Manage Server, a moderator role, or the server's Integrations settings allow it."""
    if interaction.guild is None:
        return False
    if interaction.permissions.manage_guild:
        return True
    settings = await interaction.client.service.settings(interaction.guild.id)
    if has_moderator_role(interaction.user, settings):
        return True
    return command_id is not None and await integrations_allow(interaction, command_id)


async def may_moderate(interaction: Interaction) -> bool:
    """Manage Messages or a moderator role: the buttons under alerts."""
    if interaction.guild is None:
        return False
    if interaction.permissions.manage_messages:
        return True
    settings = await interaction.client.service.settings(interaction.guild.id)
    return has_moderator_role(interaction.user, settings)


async def check_admin(interaction: Interaction) -> bool:
    """The /repost commands' check: raises :class:`Refused` for a member who may not.

    Discord hides the group from members without Manage Server unless the server's
    Integrations settings say otherwise; seenit checks the member itself too.
    """
    if interaction.guild is None:
        raise Refused("admin.guild_only")
    command_id = command_id_of(interaction)
    command = interaction.command
    if command is not None and command.name in MANAGE_SERVER_ONLY:
        allowed = interaction.permissions.manage_guild or (
            command_id is not None and await integrations_allow(interaction, command_id)
        )
        if not allowed:
            raise Refused("access.need_manage_server")
    elif not await may_administer(interaction, command_id):
        raise Refused("access.need_admin")
    return True


class Access(commands.Cog):
    """Forgets a server's cached overrides when Discord says they changed."""

    def __init__(self, bot: SeenitBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_raw_app_command_permissions_update(
        self, payload: discord.RawAppCommandPermissionsUpdateEvent
    ) -> None:
        self.bot.overrides.forget(payload.guild.id)


async def setup(bot: SeenitBot) -> None:
    await bot.add_cog(Access(bot))

"""/repost: the server admins' settings, history scan and stats (Manage Server required).

The commands live in cogs/_admin_settings.py and cogs/_admin_data.py; this cog puts them
in one /repost group behind one check.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SeenitBot
from bot.i18n import Texts
from cogs._admin_data import DataCommands
from cogs._admin_settings import SettingCommands
from cogs._server_state import ContentWatch
from cogs.access import check_admin

log = logging.getLogger(__name__)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Admin(DataCommands, SettingCommands, commands.GroupCog, group_name="repost"):
    """Repost alert settings for this server."""

    def __init__(self, bot: SeenitBot) -> None:
        self.bot = bot
        self.service = bot.service
        self.content = ContentWatch()
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        # Raises Refused (answered by the tree's error handler) for a member who may not.
        return await check_admin(interaction)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        # Without the Message Content intent members' messages arrive with nothing in them.
        self.content.saw(message, self.bot.user)

    def content_line(self, t: Texts, guild_id: int) -> str:
        """What /repost check says about message content in the guild."""
        return self.content.line(t, guild_id, requested=self.bot.intents.message_content)


async def setup(bot: SeenitBot) -> None:
    await bot.add_cog(Admin(bot))

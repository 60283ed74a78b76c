"""/help: what seenit does, the commands this member may use, the settings, the guide."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot import guide
from cogs._discord import bot_of, embed
from cogs.access import MANAGE_SERVER_ONLY, access_of

log = logging.getLogger(__name__)

ADMIN_GROUP = "repost"


class Help(commands.Cog):
    """Explains seenit to the member who asks."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot_of(bot)
        self.service = self.bot.service
        self._command_ids: dict[str, int] = {}

    async def command_id(self, name: str) -> int | None:
        """The id Discord gave a top-level command (read once; the tree does not keep ids)."""
        if name not in self._command_ids:
            try:
                fetched = await self.bot.tree.fetch_commands()
            except discord.HTTPException as exc:
                log.info("could not read the command ids: %s", exc)
                return None
            self._command_ids = {c.name: c.id for c in fetched}
        return self._command_ids.get(name)

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction) -> None:
        """What seenit does and the commands you can use here."""
        members: list[guide.HelpEntry] = []
        admins: list[guide.HelpEntry] = []
        access = access_of(self.bot)
        admin_allowed = False
        manage_server = interaction.guild is not None and interaction.permissions.manage_guild
        if interaction.guild is not None:
            admin_allowed = await access.may_administer(
                interaction, await self.command_id(ADMIN_GROUP)
            )
        for command in self.bot.tree.get_commands(type=discord.AppCommandType.chat_input):
            if isinstance(command, app_commands.Group):
                if command.name != ADMIN_GROUP or not admin_allowed:
                    continue
                for sub in command.commands:
                    if sub.name in MANAGE_SERVER_ONLY and not manage_server:
                        continue
                    admins.append(guide.HelpEntry(f"{command.name} {sub.name}", sub.description))
            elif command.default_permissions is None:
                if interaction.guild is None and command.guild_only:
                    continue
                members.append(guide.HelpEntry(command.name, command.description))
        if interaction.guild is not None:
            for menu in self.bot.tree.get_commands(type=discord.AppCommandType.message):
                members.append(guide.HelpEntry(menu.name, menu_description(menu.name), menu=True))
        parts = [guide.HELP_ABOUT, f"**{guide.HELP_MEMBER_HEADING}**\n{guide.help_lines(members)}"]
        if admins:
            parts.append(f"**{guide.HELP_ADMIN_HEADING}**\n{guide.help_lines(admins)}")
        if interaction.guild is not None:
            parts.append(guide.HELP_BUTTONS)
            settings = await self.service.settings(interaction.guild.id)
            parts.append(f"**{guide.HELP_SETTINGS_HEADING}**\n{guide.settings_line(settings)}")
        parts.append(guide.HELP_DOCS.format(url=self.bot.config.docs_url))
        await interaction.response.send_message(
            embed=embed(guide.HELP_TITLE, "\n\n".join(parts)), ephemeral=True
        )


def menu_description(name: str) -> str:
    """Context menus carry no description on Discord: /help gives them one."""
    return guide.MENU_DESCRIPTIONS.get(name, "")


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Help(bot))

"""/help: what seenit does, the commands this member may use, the settings, the guide."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot import guide, i18n
from bot.client import SeenitBot
from cogs._discord import Interaction, embed, user_texts
from cogs.access import MANAGE_SERVER_ONLY, may_administer

log = logging.getLogger(__name__)

ADMIN_GROUP = "repost"


class Help(commands.Cog):
    """Explains seenit to the member who asks."""

    def __init__(self, bot: SeenitBot) -> None:
        self.bot = bot
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
    async def help(self, interaction: Interaction) -> None:
        """What seenit does and the commands you can use here."""
        t = user_texts(interaction)
        locale = interaction.locale.value
        members: list[guide.HelpEntry] = []
        admins: list[guide.HelpEntry] = []
        admin_allowed = False
        manage_server = interaction.guild is not None and interaction.permissions.manage_guild
        if interaction.guild is not None:
            admin_allowed = await may_administer(interaction, await self.command_id(ADMIN_GROUP))
        for command in self.bot.tree.get_commands(type=discord.AppCommandType.chat_input):
            if isinstance(command, app_commands.Group):
                if command.name != ADMIN_GROUP or not admin_allowed:
                    continue
                for sub in command.commands:
                    if sub.name in MANAGE_SERVER_ONLY and not manage_server:
                        continue
                    admins.append(entry(sub.qualified_name, sub.description, locale))
            elif command.default_permissions is None:
                if interaction.guild is None and command.guild_only:
                    continue
                members.append(entry(command.name, command.description, locale))
        if interaction.guild is not None:
            for menu in self.bot.tree.get_commands(type=discord.AppCommandType.message):
                name = i18n.command_text(i18n.command_key("menu", menu.name, "name"), locale)
                key = guide.MENU_DESCRIPTIONS.get(menu.name)
                described = t(key) if key else ""
                members.append(guide.HelpEntry(name or menu.name, described, menu=True))
        parts = [
            t("help.about"),
            f"**{t('help.member_heading')}**\n{guide.help_lines(t, members)}",
        ]
        if admins:
            parts.append(f"**{t('help.admin_heading')}**\n{guide.help_lines(t, admins)}")
        if interaction.guild is not None:
            parts.append(t("help.buttons"))
            settings = await self.service.settings(interaction.guild.id)
            parts.append(f"**{t('help.settings_heading')}**\n{guide.settings_line(t, settings)}")
        parts.append(t("help.docs", url=self.bot.config.docs_url))
        await interaction.response.send_message(
            embed=embed(t("help.title"), "\n\n".join(parts)), ephemeral=True
        )


def entry(path: str, description: str, locale: str) -> guide.HelpEntry:
    """A slash command as the member's client shows it: its name and description translated."""
    words = path.split()
    names = [
        i18n.command_text(i18n.command_key("command", " ".join(words[: i + 1]), "name"), locale)
        or word
        for i, word in enumerate(words)
    ]
    translated = i18n.command_text(i18n.command_key("command", path, "description"), locale)
    return guide.HelpEntry(" ".join(names), translated or description)


async def setup(bot: SeenitBot) -> None:
    await bot.add_cog(Help(bot))

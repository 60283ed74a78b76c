"""Buttons under a repost alert: Why?, Not a repost, Allow this image, Delete alert.

The buttons are dynamic items (their state lives in the custom id), so they keep working
after a restart. Every press checks the presser's permissions.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from bot.explain import explanation
from bot.hashing import Fingerprint, ImageError
from bot.i18n import ENGLISH, Texts
from bot.matching import thresholds_for
from cogs._discord import (
    bot_of,
    guild_texts,
    user_texts,
)
from cogs._pictures import fetch_image_of
from cogs._posts import image_refs
from cogs.access import access_of

log = logging.getLogger(__name__)

#: Each button's style; its label is the catalogue's ``button.<action>``.
ACTIONS = {
    "why": discord.ButtonStyle.secondary,
    "notrepost": discord.ButtonStyle.secondary,
    "allow": discord.ButtonStyle.secondary,
    "dismiss": discord.ButtonStyle.danger,
}
MODERATOR_ONLY = {"notrepost", "allow"}


class AlertButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"seenit:(?P<action>why|notrepost|allow|dismiss):(?P<message>\d+):(?P<image>\d+)",
):
    """One button of an alert: the action, the repost message and the original image."""

    def __init__(self, action: str, message_id: int, image_id: int, t: Texts = ENGLISH) -> None:
        super().__init__(
            discord.ui.Button(
                label=t(f"button.{action}"),
                style=ACTIONS[action],
                custom_id=f"seenit:{action}:{message_id}:{image_id}",
            )
        )
        self.action = action
        self.message_id = message_id
        self.image_id = image_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: Any,
        /,
    ) -> AlertButton:
        return cls(match["action"], int(match["message"]), int(match["image"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        # Looked up by name: the extension loader may hold another copy of this module, and
        # the bot is an AutoShardedBot (not a commands.Bot subclass).
        get_cog = getattr(interaction.client, "get_cog", None)
        handle = getattr(get_cog("AlertActions"), "handle", None) if get_cog else None
        if handle is None:
            await interaction.response.send_message(
                user_texts(interaction)("actions.unavailable"), ephemeral=True
            )
            return
        await handle(interaction, self)


def alert_view(message_id: int, image_id: int, t: Texts = ENGLISH) -> discord.ui.View:
    """The buttons to attach to an alert about ``message_id`` repeating ``image_id``."""
    view = discord.ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(AlertButton(action, message_id, image_id, t))
    return view


class AlertActions(commands.Cog):
    """Handles presses on alert buttons."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot_of(bot)
        self.service = self.bot.service

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(AlertButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(AlertButton)

    async def handle(self, interaction: discord.Interaction, button: AlertButton) -> None:
        guild = interaction.guild
        if guild is None or not isinstance(interaction.channel, discord.abc.Messageable):
            return
        moderator = await access_of(self.bot).may_moderate(interaction)
        if button.action in MODERATOR_ONLY and not moderator:
            await interaction.response.send_message(
                user_texts(interaction)("access.need_moderator"), ephemeral=True
            )
            return
        t = user_texts(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        repost = await self._repost(interaction.channel, button.message_id)
        if button.action == "dismiss":
            author_id = repost.author.id if repost is not None else None
            if not moderator and interaction.user.id != author_id:
                await interaction.followup.send(t("actions.dismiss_denied"), ephemeral=True)
                return
            if interaction.message is not None:
                await interaction.message.delete()
            await interaction.followup.send(t("actions.dismissed"), ephemeral=True)
            return
        new_prints = await self._fingerprints(repost)
        if not new_prints:
            await interaction.followup.send(t("actions.gone"), ephemeral=True)
            return
        if button.action == "allow":
            for fp in new_prints:
                await self.service.allow(guild.id, fp, interaction.user.id)
            await self._note(interaction, "actions.allowed_note")
            await interaction.followup.send(t("actions.allowed"), ephemeral=True)
            return
        (original,) = await self.service.store.get_images([button.image_id]) or (None,)
        if button.action == "notrepost":
            for fp in new_prints:
                await self.service.not_a_repost(guild.id, button.image_id, fp, interaction.user.id)
            await self._note(interaction, "actions.not_repost_note")
            await interaction.followup.send(t("actions.not_repost"), ephemeral=True)
            return
        # why
        original_data = await fetch_image_of(self.bot, guild, original) if original else None
        if original_data is None:
            await interaction.followup.send(t("actions.original_gone"), ephemeral=True)
            return
        try:
            original_fp = await self.service.fingerprint(original_data)
        except ImageError:
            await interaction.followup.send(t("actions.original_unreadable"), ephemeral=True)
            return
        rule = thresholds_for(await self.service.settings(guild.id))
        verdicts = [(await self.service.compare(fp, original_fp, rule), fp) for fp in new_prints]
        verdict, new_fp = min(verdicts, key=lambda v: (not v[0].repost, v[0].distance))
        await interaction.followup.send(
            explanation(new_fp, original_fp, verdict, rule, t), ephemeral=True
        )

    async def _repost(
        self, channel: discord.abc.Messageable, message_id: int
    ) -> discord.Message | None:
        try:
            return await channel.fetch_message(message_id)
        except discord.HTTPException:
            return None

    async def _fingerprints(self, message: discord.Message | None) -> list[Fingerprint]:
        if message is None:
            return []
        prints = []
        for ref in image_refs(message):
            try:
                data = await self.bot.fetcher.discord_media(ref.url)
                prints.append(await self.service.fingerprint(data))
            except Exception as exc:  # a gone or broken image: explain with the rest
                log.info("could not read %s: %s", ref.url, exc)
        return prints

    async def _note(self, interaction: discord.Interaction, key: str) -> None:
        """Mark the alert as handled: add a note (in the server's language) and take the buttons
        away."""
        message = interaction.message
        if message is None or not message.embeds:
            return
        updated = message.embeds[0]
        updated.set_footer(text=guild_texts(interaction.guild)(key, user=interaction.user.name))
        try:
            await message.edit(embed=updated, view=None)
        except discord.HTTPException as exc:
            log.info("could not update the alert: %s", exc)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(AlertActions(bot))

"""Buttons under a repost alert: Why?, Not a repost, Allow this image, Delete alert.

The buttons are dynamic items (their state lives in the custom id), so they keep working
after a restart. Each button's work is its callback; its check says who may press it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord.ext import commands

from bot.client import SeenitBot
from bot.explain import explanation
from bot.hashing import Fingerprint, ImageError
from bot.i18n import ENGLISH, Texts
from bot.matching import thresholds_for
from cogs._discord import Interaction, guild_texts, user_texts
from cogs._pictures import fetch_image_of
from cogs._posts import image_refs
from cogs.access import may_moderate

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
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
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
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> AlertButton:
        return cls(match["action"], int(match["message"]), int(match["image"]))

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        return await self.may_press(interaction)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await self.press(interaction)

    async def may_press(self, interaction: Interaction) -> bool:
        """In a server channel; "Not a repost" and "Allow" only for moderators."""
        if interaction.guild is None or not isinstance(
            interaction.channel, discord.abc.Messageable
        ):
            return False
        if self.action in MODERATOR_ONLY and not await may_moderate(interaction):
            await interaction.response.send_message(
                user_texts(interaction)("access.need_moderator"), ephemeral=True
            )
            return False
        return True

    async def press(self, interaction: Interaction) -> None:
        """Do the button's work and answer the member who pressed it."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        t = user_texts(interaction)
        if self.action == "dismiss":
            answer = await self.dismiss(interaction, t)
        else:
            prints = await self._repost_prints(interaction)
            if not prints:
                answer = t("actions.gone")
            elif self.action == "allow":
                answer = await self.allow(interaction, prints, t)
            elif self.action == "notrepost":
                answer = await self.not_a_repost(interaction, prints, t)
            else:
                answer = await self.why(interaction, prints, t)
        await interaction.followup.send(answer, ephemeral=True)

    async def dismiss(self, interaction: Interaction, t: Texts) -> str:
        """Delete the alert: its repost's author or a moderator may."""
        repost = await self._repost(interaction)
        author_id = repost.author.id if repost is not None else None
        if interaction.user.id != author_id and not await may_moderate(interaction):
            return t("actions.dismiss_denied")
        if interaction.message is not None:
            await interaction.message.delete()
        return t("actions.dismissed")

    async def allow(self, interaction: Interaction, prints: list[Fingerprint], t: Texts) -> str:
        """Let the repost's images be posted again without alerts."""
        assert interaction.guild is not None  # interaction_check
        for fp in prints:
            await interaction.client.service.allow(interaction.guild.id, fp, interaction.user.id)
        await _note(interaction, "actions.allowed_note")
        return t("actions.allowed")

    async def not_a_repost(
        self, interaction: Interaction, prints: list[Fingerprint], t: Texts
    ) -> str:
        """Remember that the repost's images are not reposts of the original."""
        assert interaction.guild is not None  # interaction_check
        service = interaction.client.service
        for fp in prints:
            await service.not_a_repost(interaction.guild.id, self.image_id, fp, interaction.user.id)
        await _note(interaction, "actions.not_repost_note")
        return t("actions.not_repost")

    async def why(self, interaction: Interaction, prints: list[Fingerprint], t: Texts) -> str:
        """How alike the repost and the original are, and what the server's rule says."""
        guild = interaction.guild
        assert guild is not None  # interaction_check
        bot = interaction.client
        original = await bot.service.image(self.image_id)
        original_data = await fetch_image_of(bot, guild, original) if original else None
        if original_data is None:
            return t("actions.original_gone")
        try:
            original_fp = await bot.service.fingerprint(original_data)
        except ImageError:
            return t("actions.original_unreadable")
        rule = thresholds_for(await bot.service.settings(guild.id))
        verdicts = [(await bot.service.compare(fp, original_fp, rule), fp) for fp in prints]
        verdict, new_fp = min(verdicts, key=lambda v: (not v[0].repost, v[0].distance))
        return explanation(new_fp, original_fp, verdict, rule, t)

    async def _repost(self, interaction: Interaction) -> discord.Message | None:
        channel = interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            return None
        try:
            return await channel.fetch_message(self.message_id)
        except discord.HTTPException:
            return None

    async def _repost_prints(self, interaction: Interaction) -> list[Fingerprint]:
        """The fingerprints of the repost's images (a gone or broken one is left out)."""
        repost = await self._repost(interaction)
        if repost is None:
            return []
        prints = []
        for ref in image_refs(repost):
            try:
                prints.append(await interaction.client.ingest.fingerprint_url(ref.url))
            except Exception as exc:  # a gone or broken image: explain with the rest
                log.info("could not read %s: %s", ref.url, exc)
        return prints


async def _note(interaction: Interaction, key: str) -> None:
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


def alert_view(message_id: int, image_id: int, t: Texts = ENGLISH) -> discord.ui.View:
    """The buttons to attach to an alert about ``message_id`` repeating ``image_id``."""
    view = discord.ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(AlertButton(action, message_id, image_id, t))
    return view


class AlertActions(commands.Cog):
    """Makes the buttons under alerts (past and future ones) answer presses."""

    def __init__(self, bot: SeenitBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(AlertButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(AlertButton)


async def setup(bot: SeenitBot) -> None:
    await bot.add_cog(AlertActions(bot))

"""Repost alerts: what the alert may show, one method per alert style, deleting reposts."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

from bot.flow import RateLimit
from bot.ingest import Repost
from bot.matching import Match, chronological, delete_limit
from bot.pictures import MAX_SMALL
from bot.records import AlertRecord
from bot.render import ALERT_LINES, alert_text
from cogs._audience import everyone_reads, readable_by_all
from cogs._discord import ALERT_COLOUR, can_view, embed, guild_texts, message_checker
from cogs._pictures import comparison_file
from cogs.alert_actions import alert_view

if TYPE_CHECKING:
    from bot.client import SeenitBot

log = logging.getLogger(__name__)

#: Alerts one channel may get in ALERT_WINDOW seconds; more only happens in a flood.
ALERT_BURST = 5
ALERT_WINDOW = 10.0
REPOST_EMOJI = "\N{BLACK UNIVERSAL RECYCLING SYMBOL}\N{VARIATION SELECTOR-16}"
#: Seconds the note about a deleted repost stays in the channel.
REMOVED_NOTE_SECONDS = 30


class Alerts:
    """Posts the alert about a repost the way the server chose, and deletes near-copies."""

    def __init__(self, bot: SeenitBot) -> None:
        self.bot = bot
        self.service = bot.service
        self.limit = RateLimit(ALERT_BURST, ALERT_WINDOW)

    async def raise_alert(self, message: discord.Message, repost: Repost) -> None:
        """Tell the channel (or the log channel) that ``message`` repeats earlier posts."""
        guild = message.guild
        if guild is None:
            return
        settings = repost.settings
        matches = self._visible_to_poster(message, guild, repost.matches)
        if not matches:
            return
        # Everyone who reads the alert's channel reads the alert: it links only what all of
        # them may open, and otherwise says no more than that the image was posted before.
        log_style = settings.alert_style == "log" and settings.log_channel_id is not None
        audience = settings.log_channel_id if log_style else None
        public = {
            m.image.id for m in readable_by_all(guild, audience or message.channel.id, matches)
        }
        matches = await self._still_there(guild, matches, public)
        if not matches:
            return
        shown = [m for m in matches if m.image.id in public]
        original = chronological(matches)[0]
        # Recorded first: stats and a later edit of the repost see the alert at once.
        alert_id = await self._record(message, guild, original)
        sent = await self._post(message, guild, repost, shown, original)
        if sent is not None and not await self.service.alert_posted(
            alert_id, sent.channel.id, sent.id
        ):
            # Its author asked to be forgotten while the alert was being posted: the alert
            # goes too.
            with contextlib.suppress(discord.HTTPException):
                await sent.delete()
            return
        # Two tiers: near-identical copies are deleted, looser matches only alerted.
        closest = min(m.distance for m in matches)
        if settings.delete_reposts and guild.me is not None and closest <= delete_limit(settings):
            in_channel = everyone_reads(guild, message.channel.id, original.image.channel_id)
            await self.delete_repost(message, original, in_channel=in_channel)

    @staticmethod
    def _visible_to_poster(
        message: discord.Message, guild: discord.Guild, matches: list[Match]
    ) -> list[Match]:
        """Never tell the poster about a channel they cannot read."""
        author = message.author
        if not isinstance(author, discord.Member):
            return matches
        here = message.channel.id
        return [m for m in matches if can_view(author, guild, m.image.channel_id, here=here)]

    async def _still_there(
        self, guild: discord.Guild, matches: list[Match], public: set[int]
    ) -> list[Match]:
        """Posts deleted while seenit was not looking are dropped; the next ones take their
        place."""

        def displayed(candidates: list[Match]) -> list[Match]:
            ordered = chronological(candidates)
            listed = [m for m in ordered if m.image.id in public]
            pictured = sorted(listed, key=lambda m: m.distance)[: 1 + MAX_SMALL]
            return [*ordered[:1], *listed[:1], *listed[1 - ALERT_LINES :], *pictured]

        return await self.service.still_there(guild.id, matches, displayed, message_checker(guild))

    async def _post(
        self,
        message: discord.Message,
        guild: discord.Guild,
        repost: Repost,
        shown: list[Match],
        original: Match,
    ) -> discord.Message | None:
        """Post the alert in the guild's style; the alert message, if there is one."""
        style = repost.settings.alert_style
        if style == "silent":
            return None
        if not self.limit.allow(message.channel.id):
            log.info("alert flood in channel %d: not posting this alert", message.channel.id)
            return None
        t = guild_texts(guild)
        text = alert_text(shown, t) if shown else t("alert.hidden_earlier")
        buttons = alert_view(message.id, original.image.id, t)
        try:
            if style == "reply":
                return await self._reply(message, guild, repost, shown, text, buttons)
            if style == "reaction":
                await message.add_reaction(REPOST_EMOJI)
            elif style == "log":
                return await self._log(message, guild, repost, text, buttons)
        except discord.HTTPException as exc:
            log.warning("could not post the alert for %s: %s", message.id, exc)
        return None

    async def _reply(
        self,
        message: discord.Message,
        guild: discord.Guild,
        repost: Repost,
        shown: list[Match],
        text: str,
        buttons: discord.ui.View,
    ) -> discord.Message:
        """The "reply" style: an embed answering the repost, with a picture if asked."""
        settings = repost.settings
        t = guild_texts(guild)
        notice = embed(t("alert.title"), text, colour=ALERT_COLOUR)
        files: list[discord.File] = []
        if settings.alert_pictures:
            best = sorted(shown, key=lambda m: m.distance)
            picture = await comparison_file(self.bot, guild, repost.image, best, t)
            if picture is not None:
                notice.set_image(url=f"attachment://{picture.filename}")
                files.append(picture)
        return await message.reply(
            embed=notice,
            view=buttons,
            mention_author=settings.mention_author,
            allowed_mentions=discord.AllowedMentions.none().merge(
                discord.AllowedMentions(replied_user=settings.mention_author)
            ),
            files=files,
        )

    async def _log(
        self,
        message: discord.Message,
        guild: discord.Guild,
        repost: Repost,
        text: str,
        buttons: discord.ui.View,
    ) -> discord.Message | None:
        """The "log" style: a line in the log channel, linking the repost when all may see it."""
        log_channel_id = repost.settings.log_channel_id
        log_channel = guild.get_channel(log_channel_id) if log_channel_id else None
        if not isinstance(log_channel, discord.TextChannel):
            return None
        t = guild_texts(guild)
        channel = message.channel
        if everyone_reads(guild, log_channel.id, channel.id):
            where = t(
                "alert.log_where",
                url=message.jump_url,
                author=message.author.mention,
                channel=getattr(channel, "mention", ""),
            )
        else:
            where = t("alert.hidden_post")
        report = embed(t("alert.title"), f"{where}\n{text}", colour=ALERT_COLOUR)
        return await log_channel.send(embed=report, view=buttons)

    async def _record(
        self,
        message: discord.Message,
        guild: discord.Guild,
        original: Match,
    ) -> int:
        return await self.service.record_alert(
            AlertRecord(
                guild_id=guild.id,
                channel_id=message.channel.id,
                message_id=message.id,
                author_id=message.author.id,
                original_image_id=original.image.id,
                alert_channel_id=None,
                alert_message_id=None,
                created_at=self.service.clock(),
            )
        )

    async def delete_repost(
        self, message: discord.Message, original: Match, *, in_channel: bool = False
    ) -> None:
        """Delete a repost and tell its author why, privately if possible.

        ``in_channel``: whether everyone in the repost's channel may see the original, for
        when the note has to be posted there.
        """
        guild = message.guild
        if guild is None:
            return
        if not message.channel.permissions_for(guild.me).manage_messages:
            log.info("not deleting repost %s: no Manage Messages permission", message.id)
            return
        try:
            await message.delete()
        except discord.HTTPException as exc:
            log.warning("could not delete repost %s: %s", message.id, exc)
            return
        # A DM or a channel post: the member's language is unknown outside an interaction.
        t = guild_texts(guild)
        note = t("alert.removed", server=guild.name, url=original.image.jump_url)
        try:
            await message.author.send(note)
        except discord.HTTPException:
            if not in_channel:
                note = t("alert.removed", server=guild.name, url=t("alert.hidden_post"))
            await self._note_in_channel(message, note)

    @staticmethod
    async def _note_in_channel(message: discord.Message, note: str) -> None:
        with contextlib.suppress(discord.HTTPException):
            await message.channel.send(
                f"{message.author.mention} {note}",
                delete_after=REMOVED_NOTE_SECONDS,
                allowed_mentions=discord.AllowedMentions(users=[message.author]),
            )


async def take_down(client: discord.Client, alerts: Sequence[AlertRecord]) -> int:
    """Delete alert messages seenit posted (their repost or its author went); how many went."""
    removed = 0
    for alert in alerts:
        if alert.alert_channel_id is None or alert.alert_message_id is None:
            continue
        channel = client.get_partial_messageable(alert.alert_channel_id)
        try:
            await channel.get_partial_message(alert.alert_message_id).delete()
        except discord.NotFound:
            continue  # already gone
        except discord.HTTPException as exc:
            log.info("could not delete alert %d: %s", alert.alert_message_id, exc)
            continue
        removed += 1
    return removed

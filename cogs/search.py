"""/findsimilar and the "Find similar" message menu."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import SeenitBot
from bot.fetch import FetchError
from bot.hashing import TooPlain
from bot.matching import Match
from bot.render import results_text
from cogs._audience import readable_by_all
from cogs._discord import (
    Interaction,
    Refusal,
    can_view,
    embed,
    is_url,
    message_checker,
    parse_message_ref,
    reason_text,
    user_texts,
    visible_to,
)
from cogs._pictures import comparison_file
from cogs._posts import image_refs

log = logging.getLogger(__name__)

RESULTS = 10
#: Searches one member may run per minute (commands and menu together).
FINDS_PER_MINUTE = 6


class Search(commands.Cog):
    """Lets members look up earlier posts of an image."""

    def __init__(self, bot: SeenitBot) -> None:
        self.bot = bot
        self.service = self.bot.service
        self.menu = app_commands.ContextMenu(name="Find similar", callback=self.find_similar_menu)
        self.menu.guild_only = True
        self.menu.add_check(self._within_budget)
        self.findsimilar.add_check(self._within_budget)
        # One budget per member for the command and the menu together.
        self.cooldown: commands.CooldownMapping[discord.Interaction] = (
            commands.CooldownMapping.from_cooldown(
                FINDS_PER_MINUTE, 60.0, lambda i: (i.guild_id, i.user.id)
            )
        )

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    @app_commands.command(name="findsimilar")
    @app_commands.guild_only()
    @app_commands.describe(
        image="An image to look up",
        url="A link to an image on the web",
        message="A message link or ID whose images to look up",
        public="Show the answer to everyone in the channel (default: only you)",
    )
    async def findsimilar(
        self,
        interaction: Interaction,
        image: discord.Attachment | None = None,
        url: str | None = None,
        message: str | None = None,
        public: bool = False,
    ) -> None:
        """Find earlier posts of an image in this server."""
        await interaction.response.defer(ephemeral=not public, thinking=True)
        try:
            if sum(x is not None for x in (image, url, message)) != 1:
                raise Refusal("search.exactly_one")
            if image is not None:
                data = await self._attachment_bytes(image)
            elif url is not None:
                data = await self._url_bytes(url)
            elif message is not None:
                target = await self._resolve_message(interaction, message)
                data, matches = await self._message_search(interaction, target, public=public)
                await self._answer(interaction, matches, data)
                return
            matches = await self._search(interaction, [data], exclude_message=None, public=public)
        except Refusal as exc:
            await interaction.followup.send(exc.text(user_texts(interaction)), ephemeral=True)
            return
        except FetchError as exc:
            t = user_texts(interaction)
            await interaction.followup.send(
                t("search.fetch_failed", reason=reason_text(exc, t)), ephemeral=True
            )
            return
        await self._answer(interaction, matches, data)

    async def find_similar_menu(self, interaction: Interaction, message: discord.Message) -> None:
        """Find earlier posts of this message's images."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            data, matches = await self._message_search(interaction, message)
        except Refusal as exc:
            await interaction.followup.send(exc.text(user_texts(interaction)), ephemeral=True)
            return
        await self._answer(interaction, matches, data)

    async def _within_budget(self, interaction: Interaction) -> bool:
        """Count a search against the member's budget (the command and the menu together);
        past it, the tree's error handler says when to try again."""
        bucket = self.cooldown.get_bucket(interaction)
        retry = bucket.update_rate_limit() if bucket is not None else None
        if bucket is not None and retry:
            raise app_commands.CommandOnCooldown(bucket, retry)
        return True

    async def _url_bytes(self, url: str) -> bytes:
        if not is_url(url):
            raise Refusal("search.not_a_link")
        return await self.bot.fetcher.user_url(url)

    async def _attachment_bytes(self, attachment: discord.Attachment) -> bytes:
        if attachment.size > self.bot.config.max_image_bytes:
            raise Refusal("search.too_large")
        try:
            return await self.bot.fetcher.discord_media(attachment.url)
        except FetchError as exc:
            raise Refusal("search.download_failed", reason=exc) from exc

    async def _resolve_message(self, interaction: Interaction, text: str) -> discord.Message:
        assert interaction.guild is not None
        ref = parse_message_ref(text)
        if ref is None:
            raise Refusal("search.need_message_ref")
        guild_id, channel_id, message_id = ref
        if guild_id is not None and guild_id != interaction.guild.id:
            raise Refusal("search.other_server")
        channel_id = channel_id or interaction.channel_id
        channel = interaction.guild.get_channel_or_thread(channel_id or 0)
        member = interaction.user
        if (
            channel is None
            or not isinstance(member, discord.Member)
            or not can_view(member, interaction.guild, channel.id, here=interaction.channel_id)
            or not isinstance(channel, discord.abc.Messageable)
        ):
            raise Refusal("search.not_visible")
        try:
            return await channel.fetch_message(message_id)
        except discord.NotFound:
            raise Refusal("search.not_found") from None
        except discord.Forbidden:
            raise Refusal("search.forbidden") from None

    async def _message_search(
        self, interaction: Interaction, message: discord.Message, *, public: bool = False
    ) -> tuple[bytes, list[Match]]:
        """The message's first image and the earlier posts of any of its images."""
        refs = image_refs(message)
        if not refs:
            raise Refusal("search.no_images")
        blobs = await self.bot.ingest.downloads(refs)
        if not blobs:
            raise Refusal("search.images_unavailable")
        return blobs[0], await self._search(
            interaction, blobs, exclude_message=message.id, public=public
        )

    async def _search(
        self,
        interaction: Interaction,
        blobs: list[bytes],
        *,
        exclude_message: int | None,
        public: bool = False,
    ) -> list[Match]:
        guild = interaction.guild
        member = interaction.user
        assert guild is not None and isinstance(member, discord.Member)
        ranked, errors = await self.bot.ingest.similar(
            guild.id, blobs, exclude_message=exclude_message
        )
        if errors and not ranked and len(errors) == len(blobs):
            if all(isinstance(e, TooPlain) for e in errors):
                raise Refusal("search.too_plain")
            raise Refusal("search.unreadable", reason=errors[0])
        # Privacy first, then the cut: hidden results never take a visible one's place.
        here = interaction.channel_id
        shown = visible_to(member, guild, ranked, here=here)
        if public and here is not None:
            # Everyone in the channel reads a public answer, not only the member who asked.
            shown = readable_by_all(guild, here, shown)
        return await self.service.still_there(
            guild.id, shown, lambda ms: ms[:RESULTS], message_checker(guild)
        )

    async def _answer(self, interaction: Interaction, matches: list[Match], query: bytes) -> None:
        t = user_texts(interaction)
        answer = embed(t("search.found", count=len(matches)), results_text(matches, RESULTS, t))
        assert interaction.guild is not None
        picture = await comparison_file(self.bot, interaction.guild, query, matches, t)
        if picture is None:
            await interaction.followup.send(embed=answer)
            return
        answer.set_image(url=f"attachment://{picture.filename}")
        await interaction.followup.send(embed=answer, file=picture)


async def setup(bot: SeenitBot) -> None:
    await bot.add_cog(Search(bot))

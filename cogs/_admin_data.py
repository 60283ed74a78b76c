"""/repost commands about the server's images and people: allow, moderators, settings,
stats, scan, purge (mixed into the Admin cog)."""

from __future__ import annotations

import dataclasses

import discord
from discord import app_commands

from bot.records import GuildStats
from bot.render import scan_progress
from cogs._admin_settings import AdminBase
from cogs._discord import Interaction, Refusal, can_view, guild_texts, parse_message_ref, user_texts
from cogs._pictures import stats_file
from cogs._posts import image_refs
from cogs._server_state import settings_embed, stats_embed
from cogs.scanner import start_scan

SCAN_MAX = 100_000


class DataCommands(AdminBase):
    """/repost allow, moderators, settings, stats, scan, purge."""

    @app_commands.command()
    @app_commands.describe(
        image="An image that may be posted again without alerts",
        message="Or a message link/ID whose images may be posted again",
    )
    async def allow(
        self,
        interaction: Interaction,
        image: discord.Attachment | None = None,
        message: str | None = None,
    ) -> None:
        """Allow an image (a common reaction image, say) to be posted again without alerts."""
        assert interaction.guild is not None
        t = user_texts(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            urls = [image.url] if image is not None else []
            if message is not None:
                urls += await self._message_urls(interaction, message)
        except Refusal as exc:
            await interaction.followup.send(exc.text(t), ephemeral=True)
            return
        if not urls:
            await interaction.followup.send(t("admin.give_image"), ephemeral=True)
            return
        allowed = await self.bot.ingest.allow_urls(
            interaction.guild.id, urls, added_by=interaction.user.id
        )
        await interaction.followup.send(t("admin.allowed", count=allowed), ephemeral=True)

    async def _message_urls(self, interaction: Interaction, text: str) -> list[str]:
        """The image URLs of the message a link or id names (in this channel by default)."""
        assert interaction.guild is not None
        ref = parse_message_ref(text)
        channel = interaction.guild.get_channel_or_thread(
            (ref[1] if ref else None) or interaction.channel_id or 0
        )
        if ref is None or not isinstance(channel, discord.abc.Messageable):
            raise Refusal("admin.message_not_found")
        try:
            target = await channel.fetch_message(ref[2])
        except discord.HTTPException:
            raise Refusal("admin.message_not_found") from None
        return [r.url for r in image_refs(target)]

    @app_commands.command()
    @app_commands.describe(
        role="A role whose members may use /repost and the moderator buttons",
        remove="Take the role off the moderator list",
    )
    async def moderators(
        self, interaction: Interaction, role: discord.Role, remove: bool = False
    ) -> None:
        """Let a role use the admin commands and the moderator buttons (or undo that)."""
        assert interaction.guild is not None
        s = await self.service.settings(interaction.guild.id)
        roles = s.moderator_roles - {role.id} if remove else s.moderator_roles | {role.id}
        await self.service.save_settings(
            interaction.guild.id, dataclasses.replace(s, moderator_roles=roles)
        )
        t = user_texts(interaction)
        done = t("moderators.removed" if remove else "moderators.added", role=role.mention)
        listed = ", ".join(f"<@&{r}>" for r in sorted(roles)) or t("moderators.none")
        text = done + "\n" + t("moderators.now", roles=listed)
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="settings")
    async def show_settings(self, interaction: Interaction) -> None:
        """Show this server's repost settings."""
        assert interaction.guild is not None
        s = await self.service.settings(interaction.guild.id)
        await interaction.response.send_message(
            embed=settings_embed(s, "Settings", user_texts(interaction)), ephemeral=True
        )

    @app_commands.command()
    async def stats(self, interaction: Interaction) -> None:
        """Images indexed, reposts caught, top reposters and most reposted images."""
        assert interaction.guild is not None
        t = user_texts(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        stats = self._readable(interaction, await self.service.stats(interaction.guild.id))
        e = stats_embed(stats, t)
        chart = await stats_file(
            self.bot, interaction.guild, stats.weekly_alerts, stats.most_reposted, t
        )
        if chart is None:
            await interaction.followup.send(embed=e, ephemeral=True)
            return
        e.set_image(url=f"attachment://{chart.filename}")
        await interaction.followup.send(embed=e, file=chart, ephemeral=True)

    @staticmethod
    def _readable(interaction: Interaction, stats: GuildStats) -> GuildStats:
        """A moderator role may not read every channel: show only images they may open."""
        member, guild = interaction.user, interaction.guild
        if not isinstance(member, discord.Member) or guild is None:
            return stats
        here = interaction.channel_id
        shown = tuple(
            (img, n)
            for img, n in stats.most_reposted
            if can_view(member, guild, img.channel_id, here=here)
        )
        return dataclasses.replace(stats, most_reposted=shown)

    @app_commands.command()
    @app_commands.describe(
        channel="The channel whose history to index",
        limit="How many messages to read, newest first (default 1000)",
    )
    @app_commands.checks.cooldown(1, 60.0, key=lambda i: (i.guild_id, i.user.id))
    async def scan(
        self,
        interaction: Interaction,
        channel: discord.TextChannel | discord.Thread,
        limit: app_commands.Range[int, 1, SCAN_MAX] = 1000,
    ) -> None:
        """Index a channel's earlier images so reposts of them are caught."""
        assert interaction.guild is not None
        t = user_texts(interaction)
        if self.bot.scans.is_scanning(channel.id):
            refusal = t("scan.already", channel=channel.mention)
        elif not channel.permissions_for(interaction.guild.me).read_message_history:
            refusal = t("scan.no_history", channel=channel.mention)
        else:
            refusal = None
        if refusal is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        where = interaction.channel
        if not isinstance(where, discord.abc.Messageable):
            where = channel
        # Everyone in the channel reads the progress: the server's language.
        start = scan_progress(
            channel.id,
            read=0,
            indexed=0,
            reposts=0,
            limit=limit,
            elapsed=0.0,
            finished=False,
            t=guild_texts(interaction.guild),
        )
        try:
            progress = await where.send(start)
        except discord.HTTPException:
            await interaction.response.send_message(t("scan.cannot_post"), ephemeral=True)
            return
        await start_scan(self.bot, channel, limit, progress)
        await interaction.response.send_message(
            t("scan.started", limit=limit, channel=channel.mention, url=progress.jump_url),
            ephemeral=True,
        )

    @app_commands.command()
    @app_commands.describe(confirm="Type the server's name to confirm")
    async def purge(self, interaction: Interaction, confirm: str) -> None:
        """Delete everything seenit stored for this server."""
        assert interaction.guild is not None
        t = user_texts(interaction)
        if confirm != interaction.guild.name:
            await interaction.response.send_message(t("admin.purge_mismatch"), ephemeral=True)
            return
        count = await self.service.forget_guild(interaction.guild.id)
        await interaction.response.send_message(t("admin.purged", count=count), ephemeral=True)

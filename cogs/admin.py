"""/repost: the server admins' settings, history scan and stats (Manage Server required)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import diagnosis, i18n
from bot.fetch import FetchError
from bot.guild_settings import GuildSettings
from bot.hashing import ImageError
from bot.i18n import ENGLISH, Texts
from bot.render import scan_progress, settings_fields
from cogs._discord import (
    EMBED_FIELD_LIMIT,
    bot_of,
    can_view,
    embed,
    guild_texts,
    parse_message_ref,
    user_texts,
)
from cogs._pictures import stats_file
from cogs._posts import image_refs, parent_ids
from cogs.access import MANAGE_SERVER_ONLY, access_of
from cogs.scanner import Scanner

log = logging.getLogger(__name__)

Channelish = discord.TextChannel | discord.CategoryChannel | discord.Thread | discord.ForumChannel
SCAN_MAX = 100_000


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Admin(commands.GroupCog, group_name="repost"):
    """Repost alert settings for this server."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot_of(bot)
        self.service = self.bot.service
        #: guild id -> (a member's message arrived with content, empty ones in a row since).
        self._content: dict[int, tuple[bool, int]] = {}
        super().__init__()

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        # Without the Message Content intent members' messages arrive with nothing in them.
        if message.guild is None or message.author.bot or message.type not in USER_MESSAGES:
            return
        if self.bot.user in message.mentions:
            return  # a message that mentions the bot has its content either way
        seen, empty = self._content.get(message.guild.id, (False, 0))
        if message.content or message.attachments or message.embeds or message.stickers:
            self._content[message.guild.id] = (True, 0)
        else:
            self._content[message.guild.id] = (seen, empty + 1)

    def content_line(self, t: i18n.Texts, guild_id: int) -> str:
        seen, empty = self._content.get(guild_id, (False, 0))
        state = diagnosis.content_state(
            requested=self.bot.intents.message_content,
            seen_with_content=seen,
            empty_in_a_row=empty,
        )
        return diagnosis.content_line(t, state, empty)

    def problems(self, guild: discord.Guild, settings: GuildSettings) -> list[diagnosis.Problem]:
        """What cannot work with these settings and seenit's permissions in the guild."""
        watched, _ = watched_channels(guild, settings)
        log_channel = (
            guild.get_channel(settings.log_channel_id) if settings.log_channel_id else None
        )
        log_granted = granted(log_channel.permissions_for(guild.me)) if log_channel else None
        return diagnosis.diagnose(settings, watched, log_granted)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Discord hides the group from members without Manage Server unless the server's
        # Integrations settings say otherwise; the bot checks the member itself too.
        if interaction.guild is None:
            await interaction.response.send_message(
                user_texts(interaction)("admin.guild_only"), ephemeral=True
            )
            return False
        access = access_of(self.bot)
        command_id = command_id_of(interaction)
        command = interaction.command
        if command is not None and command.name in MANAGE_SERVER_ONLY:
            allowed = interaction.permissions.manage_guild or (
                command_id is not None and await access.integrations_allow(interaction, command_id)
            )
            refusal = "access.need_manage_server"
        else:
            allowed = await access.may_administer(interaction, command_id)
            refusal = "access.need_admin"
        if not allowed:
            await interaction.response.send_message(
                user_texts(interaction)(refusal), ephemeral=True
            )
        return allowed

    async def _update(self, interaction: discord.Interaction, **changes: object) -> None:
        assert interaction.guild is not None
        current = await self.service.settings(interaction.guild.id)
        updated = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
        await self.service.save_settings(interaction.guild.id, updated)
        t = user_texts(interaction)
        saved = settings_embed(updated, "Saved", t)
        # A setting that cannot work is said at once, not found out later.
        warnings = diagnosis.new_problems(
            self.problems(interaction.guild, current), self.problems(interaction.guild, updated)
        )
        if warnings:
            saved.add_field(
                name=t("check.saved_warning"),
                value="\n".join(diagnosis.problem_lines(t, warnings))[:EMBED_FIELD_LIMIT],
                inline=False,
            )
        await interaction.response.send_message(embed=saved, ephemeral=True)

    @app_commands.command()
    async def check(self, interaction: discord.Interaction) -> None:
        """Check which permissions I lack in each channel and what that breaks."""
        assert interaction.guild is not None
        guild = interaction.guild
        settings = await self.service.settings(guild.id)
        watched, hidden = watched_channels(guild, settings)
        t = user_texts(interaction)
        text = diagnosis.report(
            t,
            settings,
            self.problems(guild, settings),
            watched_count=len(watched),
            hidden=hidden,
            content=self.content_line(t, guild.id),
        )
        await interaction.response.send_message(embed=embed(t("check.title"), text), ephemeral=True)

    @app_commands.command()
    @app_commands.describe(channel="A channel, thread or whole category to watch")
    async def watch(self, interaction: discord.Interaction, channel: Channelish) -> None:
        """Watch a channel (or every channel of a category) for reposts."""
        assert interaction.guild is not None
        s = await self.service.settings(interaction.guild.id)
        await self._update(
            interaction, watched=s.watched | {channel.id}, unwatched=s.unwatched - {channel.id}
        )

    @app_commands.command()
    @app_commands.describe(channel="A channel, thread or whole category to stop watching")
    async def unwatch(self, interaction: discord.Interaction, channel: Channelish) -> None:
        """Stop watching a channel (or a category)."""
        assert interaction.guild is not None
        s = await self.service.settings(interaction.guild.id)
        await self._update(
            interaction, watched=s.watched - {channel.id}, unwatched=s.unwatched | {channel.id}
        )

    @app_commands.command()
    @app_commands.describe(mode="all: every channel I can read; listed: only watched channels")
    async def mode(self, interaction: discord.Interaction, mode: Literal["all", "listed"]) -> None:
        """Choose whether every channel is watched or only the listed ones."""
        await self._update(interaction, watch_mode=mode)

    @app_commands.command()
    @app_commands.describe(
        level="strict: fewer alerts; normal: the default; loose: catches more edits",
        threshold="Experts: the largest 256-bit distance still called a repost (0-64)",
        templates="The same picture with a different caption: ignore (default) or alert",
    )
    async def sensitivity(
        self,
        interaction: discord.Interaction,
        level: Literal["strict", "normal", "loose"] | None = None,
        threshold: app_commands.Range[int, 0, 64] | None = None,
        templates: Literal["alert", "ignore"] | None = None,
    ) -> None:
        """Set how alike two images must be to count as a repost."""
        assert interaction.guild is not None
        s = await self.service.settings(interaction.guild.id)
        await self._update(
            interaction,
            sensitivity=level or s.sensitivity,
            # A new level without a threshold goes back to the level's own threshold.
            threshold=threshold if threshold is not None or level else s.threshold,
            templates=templates or s.templates,
        )

    @app_commands.command()
    @app_commands.describe(
        style="reply (default), reaction only, log to a channel, or silent (record only)",
        log_channel="Where log-style alerts go",
        mention_author="Ping the author in reply alerts",
        delete_reposts="Delete reposts (needs my Manage Messages permission)",
        delete_with_message="Remove my alert when the repost is deleted",
        pictures="Attach a side-by-side picture to reply alerts (off by default)",
        delete_threshold="Delete only reposts within this 256-bit distance (0-64; default: strict)",
    )
    async def alerts(
        self,
        interaction: discord.Interaction,
        style: Literal["reply", "reaction", "log", "silent"] | None = None,
        log_channel: discord.TextChannel | None = None,
        mention_author: bool | None = None,
        delete_reposts: bool | None = None,
        delete_with_message: bool | None = None,
        pictures: bool | None = None,
        delete_threshold: app_commands.Range[int, 0, 64] | None = None,
    ) -> None:
        """Choose how repost alerts look; options left out keep their current value."""
        assert interaction.guild is not None
        s = await self.service.settings(interaction.guild.id)
        style = style or s.alert_style
        if style == "log" and log_channel is None and s.log_channel_id is None:
            await interaction.response.send_message(
                user_texts(interaction)("admin.pick_log_channel"), ephemeral=True
            )
            return
        await self._update(
            interaction,
            alert_style=style,
            log_channel_id=log_channel.id if log_channel else s.log_channel_id,
            mention_author=s.mention_author if mention_author is None else mention_author,
            delete_reposts=s.delete_reposts if delete_reposts is None else delete_reposts,
            delete_alert_with_message=(
                s.delete_alert_with_message if delete_with_message is None else delete_with_message
            ),
            alert_pictures=s.alert_pictures if pictures is None else pictures,
            delete_threshold=s.delete_threshold if delete_threshold is None else delete_threshold,
        )

    @app_commands.command()
    @app_commands.describe(
        scope="guild: match across the server; channel: only within the same channel",
        max_age_days="Ignore earlier posts older than this many days (0: no limit)",
        ignore_own_posts="Do not alert when the earlier posts are the author's own",
    )
    async def scope(
        self,
        interaction: discord.Interaction,
        scope: Literal["guild", "channel"] | None = None,
        max_age_days: app_commands.Range[int, 0, 36500] | None = None,
        ignore_own_posts: bool | None = None,
    ) -> None:
        """Choose where and how far back reposts are looked for; options left out stay."""
        assert interaction.guild is not None
        s = await self.service.settings(interaction.guild.id)
        await self._update(
            interaction,
            scope=scope or s.scope,
            max_age_days=s.max_age_days if max_age_days is None else (max_age_days or None),
            ignore_own_posts=s.ignore_own_posts if ignore_own_posts is None else ignore_own_posts,
        )

    @app_commands.command(name="ignore_bots")
    @app_commands.describe(ignore="True: other bots' images are ignored (default); False: indexed")
    async def ignore_bots(self, interaction: discord.Interaction, ignore: bool) -> None:
        """Ignore images posted by other bots, or index and alert on them too."""
        await self._update(interaction, ignore_bots=ignore)

    @app_commands.command()
    @app_commands.describe(
        target="A role or member who is never alerted", remove="Take the exemption away"
    )
    async def exempt(
        self,
        interaction: discord.Interaction,
        target: discord.Role | discord.Member | discord.User,
        remove: bool = False,
    ) -> None:
        """Never alert a role or a member (or undo that)."""
        assert interaction.guild is not None
        s = await self.service.settings(interaction.guild.id)
        if isinstance(target, discord.Role):
            roles = s.exempt_roles - {target.id} if remove else s.exempt_roles | {target.id}
            await self._update(interaction, exempt_roles=roles)
        else:
            users = s.exempt_users - {target.id} if remove else s.exempt_users | {target.id}
            await self._update(interaction, exempt_users=users)

    @app_commands.command()
    @app_commands.describe(
        image="An image that may be posted again without alerts",
        message="Or a message link/ID whose images may be posted again",
    )
    async def allow(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment | None = None,
        message: str | None = None,
    ) -> None:
        """Allow an image (a common reaction image, say) to be posted again without alerts."""
        assert interaction.guild is not None and interaction.channel is not None
        t = user_texts(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        urls: list[str] = []
        if image is not None:
            urls.append(image.url)
        if message is not None:
            ref = parse_message_ref(message)
            channel = interaction.guild.get_channel_or_thread(
                (ref[1] if ref else None) or interaction.channel.id
            )
            if ref is None or not isinstance(channel, discord.abc.Messageable):
                await interaction.followup.send(t("admin.message_not_found"), ephemeral=True)
                return
            try:
                target = await channel.fetch_message(ref[2])
            except discord.HTTPException:
                await interaction.followup.send(t("admin.message_not_found"), ephemeral=True)
                return
            urls.extend(r.url for r in image_refs(target))
        if not urls:
            await interaction.followup.send(t("admin.give_image"), ephemeral=True)
            return
        allowed = 0
        for url in urls:
            try:
                fp = await self.service.fingerprint(await self.bot.fetcher.discord_media(url))
            except (FetchError, ImageError) as exc:
                log.info("could not allow %s: %s", url, exc)
                continue
            await self.service.allow(interaction.guild.id, fp, interaction.user.id)
            allowed += 1
        await interaction.followup.send(t("admin.allowed", count=allowed), ephemeral=True)

    @app_commands.command()
    @app_commands.describe(
        role="A role whose members may use /repost and the moderator buttons",
        remove="Take the role off the moderator list",
    )
    async def moderators(
        self, interaction: discord.Interaction, role: discord.Role, remove: bool = False
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
    async def show_settings(self, interaction: discord.Interaction) -> None:
        """Show this server's repost settings."""
        assert interaction.guild is not None
        s = await self.service.settings(interaction.guild.id)
        await interaction.response.send_message(
            embed=settings_embed(s, "Settings", user_texts(interaction)), ephemeral=True
        )

    @app_commands.command()
    async def stats(self, interaction: discord.Interaction) -> None:
        """Images indexed, reposts caught, top reposters and most reposted images."""
        assert interaction.guild is not None
        t = user_texts(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        stats = await self.service.stats(interaction.guild.id)
        member = interaction.user
        if isinstance(member, discord.Member):
            # A moderator role may not read every channel: show only images they may open.
            here = interaction.channel_id
            shown = tuple(
                (img, n)
                for img, n in stats.most_reposted
                if can_view(member, interaction.guild, img.channel_id, here=here)
            )
            stats = dataclasses.replace(stats, most_reposted=shown)
        e = embed(
            t("stats.title"),
            t("stats.summary", images=stats.images, alerts=stats.alerts),
        )
        reposters = "\n".join(f"<@{a}>: {n}" for a, n in stats.top_reposters) or t("stats.none_yet")
        reposted = "\n".join(
            t(
                "stats.posted",
                date=f"<t:{img.posted_at // 1000}:d>",
                url=img.jump_url,
                reposts=t("noun.repost", count=n),
            )
            for img, n in stats.most_reposted
        ) or t("stats.none_yet")
        weeks = " · ".join(str(n) for _, n in stats.weekly_alerts)
        e.add_field(name=t("stats.top_reposters"), value=reposters, inline=True)
        e.add_field(name=t("stats.most_reposted"), value=reposted, inline=True)
        e.add_field(name=t("stats.weekly"), value=weeks or t("stats.none"), inline=False)
        chart = await stats_file(
            self.bot, interaction.guild, stats.weekly_alerts, stats.most_reposted, t
        )
        if chart is None:
            await interaction.followup.send(embed=e, ephemeral=True)
            return
        e.set_image(url=f"attachment://{chart.filename}")
        await interaction.followup.send(embed=e, file=chart, ephemeral=True)

    @app_commands.command()
    @app_commands.describe(
        channel="The channel whose history to index",
        limit="How many messages to read, newest first (default 1000)",
    )
    @app_commands.checks.cooldown(1, 60.0, key=lambda i: (i.guild_id, i.user.id))
    async def scan(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | discord.Thread,
        limit: app_commands.Range[int, 1, SCAN_MAX] = 1000,
    ) -> None:
        """Index a channel's earlier images so reposts of them are caught."""
        assert interaction.guild is not None
        t = user_texts(interaction)
        scanner = self.bot.get_cog("Scanner")
        assert isinstance(scanner, Scanner)
        if scanner.is_scanning(channel.id):
            await interaction.response.send_message(
                t("scan.already", channel=channel.mention), ephemeral=True
            )
            return
        if not channel.permissions_for(interaction.guild.me).read_message_history:
            await interaction.response.send_message(
                t("scan.no_history", channel=channel.mention), ephemeral=True
            )
            return
        where = interaction.channel
        if not isinstance(where, discord.abc.Messageable):
            where = channel
        try:
            progress = await where.send(
                scan_progress(
                    channel.id,
                    read=0,
                    indexed=0,
                    reposts=0,
                    limit=limit,
                    elapsed=0.0,
                    finished=False,
                    # Everyone in the channel reads it: the server's language.
                    t=guild_texts(interaction.guild),
                )
            )
        except discord.HTTPException:
            await interaction.response.send_message(t("scan.cannot_post"), ephemeral=True)
            return
        await scanner.start(channel, limit, progress)
        await interaction.response.send_message(
            t("scan.started", limit=limit, channel=channel.mention, url=progress.jump_url),
            ephemeral=True,
        )

    @app_commands.command()
    @app_commands.describe(confirm="Type the server's name to confirm")
    async def purge(self, interaction: discord.Interaction, confirm: str) -> None:
        """Delete everything seenit stored for this server."""
        assert interaction.guild is not None
        t = user_texts(interaction)
        if confirm != interaction.guild.name:
            await interaction.response.send_message(t("admin.purge_mismatch"), ephemeral=True)
            return
        count = await self.service.forget_guild(interaction.guild.id)
        await interaction.response.send_message(t("admin.purged", count=count), ephemeral=True)


#: Message types members write (others, such as joins and pins, never carry content).
USER_MESSAGES = (discord.MessageType.default, discord.MessageType.reply)


def granted(permissions: discord.Permissions) -> frozenset[str]:
    """The permissions the diagnosis asks about that ``permissions`` grants."""
    return frozenset(name for name in diagnosis.PERMISSIONS if getattr(permissions, name))


def watched_channels(
    guild: discord.Guild, settings: GuildSettings
) -> tuple[dict[int, frozenset[str]], list[int]]:
    """Watched text channels with seenit's permissions there, and the ones it cannot see.

    In "all" mode a channel seenit cannot see is simply not watched (a private staff room,
    say); in "listed" mode a listed channel it cannot see is a problem.
    """
    watched: dict[int, frozenset[str]] = {}
    hidden: list[int] = []
    for channel in guild.text_channels:
        if not settings.is_watched(channel.id, parent_ids(channel)):
            continue
        have = granted(channel.permissions_for(guild.me))
        if settings.watch_mode == "all" and "view_channel" not in have:
            hidden.append(channel.id)
        else:
            watched[channel.id] = have
    return watched, hidden


def command_id_of(interaction: discord.Interaction) -> int | None:
    """The id of the top-level command an interaction invoked."""
    data: dict[str, object] = dict(interaction.data or {})
    raw = data.get("id")
    return int(raw) if isinstance(raw, str | int) else None


def settings_embed(settings: GuildSettings, title: str, t: Texts = ENGLISH) -> discord.Embed:
    """The settings as an embed titled "Saved" (after a change) or "Repost settings"."""
    e = embed(t("admin.saved") if title == "Saved" else t("admin.settings_title"), "")
    for name, value in settings_fields(settings, t):
        e.add_field(name=name, value=value[:EMBED_FIELD_LIMIT], inline=False)
    return e


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Admin(bot))

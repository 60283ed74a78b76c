"""/repost commands that change how seenit watches and alerts (mixed into the Admin cog)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import diagnosis
from bot.guild_settings import GuildSettings
from cogs._discord import EMBED_FIELD_LIMIT, Interaction, embed, user_texts
from cogs._server_state import ContentWatch, problems, settings_embed, watched_channels

if TYPE_CHECKING:
    from bot.client import SeenitBot
    from bot.service import SeenService

Channelish = discord.TextChannel | discord.CategoryChannel | discord.Thread | discord.ForumChannel
Change = Callable[[GuildSettings], GuildSettings]


class AdminBase(commands.Cog):
    """What the /repost commands share: the bot, its service, saving a settings change.

    The command classes are cogs only so their commands can join the Admin group cog.
    """

    bot: SeenitBot
    service: SeenService
    content: ContentWatch

    async def _update(self, interaction: Interaction, change: Change) -> None:
        """Apply ``change`` to the server's settings, save, and show the result."""
        guild = interaction.guild
        assert guild is not None  # the /repost group is guild-only
        current = await self.service.settings(guild.id)
        updated = change(current)
        await self.service.save_settings(guild.id, updated)
        t = user_texts(interaction)
        saved = settings_embed(updated, "Saved", t)
        # A setting that cannot work is said at once, not found out later.
        warnings = diagnosis.new_problems(problems(guild, current), problems(guild, updated))
        if warnings:
            saved.add_field(
                name=t("check.saved_warning"),
                value="\n".join(diagnosis.problem_lines(t, warnings))[:EMBED_FIELD_LIMIT],
                inline=False,
            )
        await interaction.response.send_message(embed=saved, ephemeral=True)


def _toggle(ids: frozenset[int], one: int, *, remove: bool) -> frozenset[int]:
    return ids - {one} if remove else ids | {one}


class SettingCommands(AdminBase):
    """/repost check, watch, unwatch, mode, sensitivity, alerts, scope, ignore_bots, exempt."""

    @app_commands.command()
    async def check(self, interaction: Interaction) -> None:
        """Check which permissions I lack in each channel and what that breaks."""
        guild = interaction.guild
        assert guild is not None
        settings = await self.service.settings(guild.id)
        watched, hidden = watched_channels(guild, settings)
        t = user_texts(interaction)
        text = diagnosis.report(
            t,
            settings,
            problems(guild, settings),
            watched_count=len(watched),
            hidden=hidden,
            content=self.content.line(t, guild.id, requested=self.bot.intents.message_content),
        )
        await interaction.response.send_message(embed=embed(t("check.title"), text), ephemeral=True)

    @app_commands.command()
    @app_commands.describe(channel="A channel, thread or whole category to watch")
    async def watch(self, interaction: Interaction, channel: Channelish) -> None:
        """Watch a channel (or every channel of a category) for reposts."""
        await self._update(
            interaction,
            lambda s: dataclasses.replace(
                s, watched=s.watched | {channel.id}, unwatched=s.unwatched - {channel.id}
            ),
        )

    @app_commands.command()
    @app_commands.describe(channel="A channel, thread or whole category to stop watching")
    async def unwatch(self, interaction: Interaction, channel: Channelish) -> None:
        """Stop watching a channel (or a category)."""
        await self._update(
            interaction,
            lambda s: dataclasses.replace(
                s, watched=s.watched - {channel.id}, unwatched=s.unwatched | {channel.id}
            ),
        )

    @app_commands.command()
    @app_commands.describe(mode="all: every channel I can read; listed: only watched channels")
    async def mode(self, interaction: Interaction, mode: Literal["all", "listed"]) -> None:
        """Choose whether every channel is watched or only the listed ones."""
        await self._update(interaction, lambda s: dataclasses.replace(s, watch_mode=mode))

    @app_commands.command()
    @app_commands.describe(
        level="strict: fewer alerts; normal: the default; loose: catches more edits",
        threshold="Experts: the largest 256-bit distance still called a repost (0-64)",
        templates="The same picture with a different caption: ignore (default) or alert",
    )
    async def sensitivity(
        self,
        interaction: Interaction,
        level: Literal["strict", "normal", "loose"] | None = None,
        threshold: app_commands.Range[int, 0, 64] | None = None,
        templates: Literal["alert", "ignore"] | None = None,
    ) -> None:
        """Set how alike two images must be to count as a repost."""
        await self._update(
            interaction,
            lambda s: dataclasses.replace(
                s,
                sensitivity=level or s.sensitivity,
                # A new level without a threshold goes back to the level's own threshold.
                threshold=threshold if threshold is not None or level else s.threshold,
                templates=templates or s.templates,
            ),
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
        interaction: Interaction,
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
        current = await self.service.settings(interaction.guild.id)
        no_log_channel = log_channel is None and current.log_channel_id is None
        if (style or current.alert_style) == "log" and no_log_channel:
            await interaction.response.send_message(
                user_texts(interaction)("admin.pick_log_channel"), ephemeral=True
            )
            return

        def change(s: GuildSettings) -> GuildSettings:
            def kept(new: bool | None, old: bool) -> bool:
                return old if new is None else new

            return dataclasses.replace(
                s,
                alert_style=style or s.alert_style,
                log_channel_id=log_channel.id if log_channel else s.log_channel_id,
                mention_author=kept(mention_author, s.mention_author),
                delete_reposts=kept(delete_reposts, s.delete_reposts),
                delete_alert_with_message=kept(delete_with_message, s.delete_alert_with_message),
                alert_pictures=kept(pictures, s.alert_pictures),
                delete_threshold=s.delete_threshold
                if delete_threshold is None
                else delete_threshold,
            )

        await self._update(interaction, change)

    @app_commands.command()
    @app_commands.describe(
        scope="guild: match across the server; channel: only within the same channel",
        max_age_days="Ignore earlier posts older than this many days (0: no limit)",
        ignore_own_posts="Do not alert when the earlier posts are the author's own",
    )
    async def scope(
        self,
        interaction: Interaction,
        scope: Literal["guild", "channel"] | None = None,
        max_age_days: app_commands.Range[int, 0, 36500] | None = None,
        ignore_own_posts: bool | None = None,
    ) -> None:
        """Choose where and how far back reposts are looked for; options left out stay."""
        await self._update(
            interaction,
            lambda s: dataclasses.replace(
                s,
                scope=scope or s.scope,
                max_age_days=s.max_age_days if max_age_days is None else (max_age_days or None),
                ignore_own_posts=s.ignore_own_posts
                if ignore_own_posts is None
                else ignore_own_posts,
            ),
        )

    @app_commands.command(name="ignore_bots")
    @app_commands.describe(ignore="True: other bots' images are ignored (default); False: indexed")
    async def ignore_bots(self, interaction: Interaction, ignore: bool) -> None:
        """Ignore images posted by other bots, or index and alert on them too."""
        await self._update(interaction, lambda s: dataclasses.replace(s, ignore_bots=ignore))

    @app_commands.command()
    @app_commands.describe(
        target="A role or member who is never alerted", remove="Take the exemption away"
    )
    async def exempt(
        self,
        interaction: Interaction,
        target: discord.Role | discord.Member | discord.User,
        remove: bool = False,
    ) -> None:
        """Never alert a role or a member (or undo that)."""
        if isinstance(target, discord.Role):
            await self._update(
                interaction,
                lambda s: dataclasses.replace(
                    s, exempt_roles=_toggle(s.exempt_roles, target.id, remove=remove)
                ),
            )
        else:
            await self._update(
                interaction,
                lambda s: dataclasses.replace(
                    s, exempt_users=_toggle(s.exempt_users, target.id, remove=remove)
                ),
            )

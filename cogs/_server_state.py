"""What /repost shows about a server: its settings, seenit's permissions in its channels,
whether members' messages arrive with their content, and its stats."""

from __future__ import annotations

import discord

from bot import diagnosis
from bot.guild_settings import GuildSettings
from bot.i18n import ENGLISH, Texts
from bot.records import GuildStats
from bot.render import settings_fields
from cogs._discord import EMBED_FIELD_LIMIT, embed
from cogs._posts import parent_ids

#: Message types members write (others, such as joins and pins, never carry content).
USER_MESSAGES = (discord.MessageType.default, discord.MessageType.reply)


class ContentWatch:
    """Whether members' messages arrive with their content (the Message Content intent)."""

    def __init__(self) -> None:
        #: guild id -> (a member's message arrived with content, empty ones in a row since).
        self._content: dict[int, tuple[bool, int]] = {}

    def saw(self, message: discord.Message, me: discord.abc.Snowflake | None) -> None:
        if message.guild is None or message.author.bot or message.type not in USER_MESSAGES:
            return
        if me is not None and any(m.id == me.id for m in message.mentions):
            return  # a message that mentions the bot has its content either way
        seen, empty = self._content.get(message.guild.id, (False, 0))
        if message.content or message.attachments or message.embeds or message.stickers:
            self._content[message.guild.id] = (True, 0)
        else:
            self._content[message.guild.id] = (seen, empty + 1)

    def line(self, t: Texts, guild_id: int, *, requested: bool) -> str:
        """What /repost check says about message content in the guild."""
        seen, empty = self._content.get(guild_id, (False, 0))
        state = diagnosis.content_state(
            requested=requested, seen_with_content=seen, empty_in_a_row=empty
        )
        return diagnosis.content_line(t, state, empty)


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


def problems(guild: discord.Guild, settings: GuildSettings) -> list[diagnosis.Problem]:
    """What cannot work with these settings and seenit's permissions in the guild."""
    watched, _ = watched_channels(guild, settings)
    log_channel = guild.get_channel(settings.log_channel_id) if settings.log_channel_id else None
    log_granted = granted(log_channel.permissions_for(guild.me)) if log_channel else None
    return diagnosis.diagnose(settings, watched, log_granted)


def settings_embed(settings: GuildSettings, title: str, t: Texts = ENGLISH) -> discord.Embed:
    """The settings as an embed titled "Saved" (after a change) or "Repost settings"."""
    e = embed(t("admin.saved") if title == "Saved" else t("admin.settings_title"), "")
    for name, value in settings_fields(settings, t):
        e.add_field(name=name, value=value[:EMBED_FIELD_LIMIT], inline=False)
    return e


def stats_embed(stats: GuildStats, t: Texts) -> discord.Embed:
    """/repost stats as an embed: totals, top reposters, most reposted images, weeks."""
    e = embed(t("stats.title"), t("stats.summary", images=stats.images, alerts=stats.alerts))
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
    return e

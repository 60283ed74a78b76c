"""Words seenit shows people: alert and result lines, settings summary. Plain text only.

Discord markup used here (``<@id>``, ``<#id>``, ``<t:seconds:R>``) is just text; the cogs
wrap these lines in embeds. The words come from the catalogues (:mod:`bot.i18n`): every
function takes the :class:`~bot.i18n.Texts` of the reader's language, English by default.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.explain import edit_words
from bot.guild_settings import GuildSettings
from bot.i18n import ENGLISH, Texts
from bot.matching import Match, chronological, delete_limit, thresholds_for

#: Earlier posts listed in one alert; the rest are counted.
ALERT_LINES = 3


def when(posted_at_ms: int) -> str:
    return f"<t:{posted_at_ms // 1000}:R>"


def match_line(match: Match, *, label: str = "", t: Texts = ENGLISH) -> str:
    image = match.image
    prefix = f"**{label}** " if label else ""
    posted, author = when(image.posted_at), f"<@{image.author_id}>"
    channel, url = f"<#{image.channel_id}>", image.jump_url
    if match.verdict.template:
        return prefix + t(
            "match.template_line", when=posted, author=author, channel=channel, url=url
        )
    line = prefix + t(
        "match.line",
        when=posted,
        author=author,
        channel=channel,
        url=url,
        similarity=match.similarity,
    )
    if match.verdict.edit:
        # A clip: how the member's post was made from this one ("yours is a GIF made from it").
        if label:
            return line
        return line + " · " + t("clip.result", edit=t(f"clip.edit.{match.verdict.edit}"))
    edit = edit_words(match.verdict, t)
    return line + t("match.edit", edit=edit) if edit else line


def alert_text(matches: Sequence[Match], t: Texts = ENGLISH) -> str:
    """Short, phone-readable alert: the original first, then the latest few, then a count."""
    ordered = chronological(matches)
    if not ordered:
        return ""
    lines = [match_line(ordered[0], label=t("alert.original"), t=t)]
    rest = ordered[1:]
    for match in rest[-(ALERT_LINES - 1) :] if ALERT_LINES > 1 else []:
        lines.append(match_line(match, t=t))
    hidden = len(rest) - min(len(rest), ALERT_LINES - 1)
    if hidden > 0:
        lines.append(t("match.more", count=hidden))
    head = t("alert.head", count=len(ordered))
    if ordered[0].verdict.edit:
        # A clip: how this post was made from the original ("this is a GIF made from ...").
        head += ": " + t("clip.alert", edit=t(f"clip.edit.{ordered[0].verdict.edit}"))
    return head + "\n" + "\n".join(lines)


def results_text(matches: Sequence[Match], limit: int = 10, t: Texts = ENGLISH) -> str:
    """Search results, best first."""
    if not matches:
        return t("search.none_visible")
    shown = matches[:limit]
    lines = [f"{i}. {match_line(m, t=t)}" for i, m in enumerate(shown, 1)]
    if len(matches) > limit:
        lines.append(t("match.more", count=len(matches) - limit))
    return "\n".join(lines)


def _ids(values: frozenset[int], mark: str, t: Texts = ENGLISH) -> str:
    return ", ".join(f"<{mark}{v}>" for v in sorted(values)) or t("settings.none")


def _watching_text(settings: GuildSettings, t: Texts) -> str:
    if settings.watch_mode != "all":
        return t("settings.watching_only", channels=_ids(settings.watched, "#", t))
    if settings.unwatched:
        return t("settings.watching_except", channels=_ids(settings.unwatched, "#", t))
    return t("settings.watching_all")


def _style_text(settings: GuildSettings, t: Texts) -> str:
    style = t.choice(settings.alert_style)
    if settings.alert_style != "log":
        return style
    if settings.log_channel_id:
        return t("settings.log_in", style=style, channel=f"<#{settings.log_channel_id}>")
    return t("settings.log_nowhere", style=style)


def _scope_text(settings: GuildSettings, t: Texts) -> str:
    age = (
        t("settings.age_days", count=settings.max_age_days)
        if settings.max_age_days
        else t("settings.age_any")
    )
    where = t("settings.scope_guild" if settings.scope == "guild" else "settings.scope_channel")
    return t("settings.scope_value", where=where, age=age)


def settings_fields(settings: GuildSettings, t: Texts = ENGLISH) -> list[tuple[str, str]]:
    """(name, value) pairs describing a guild's configuration."""
    rule = thresholds_for(settings)

    def yes(flag: bool) -> str:
        return t("settings.yes" if flag else "settings.no")

    return [
        (t("settings.field.watching"), _watching_text(settings, t)),
        (
            t("settings.field.sensitivity"),
            t(
                "settings.sensitivity_expert"
                if settings.threshold is not None
                else "settings.sensitivity",
                level=t.choice(settings.sensitivity),
                max=rule.max256,
            ),
        ),
        (
            t("settings.field.templates"),
            t(
                "settings.templates_alert"
                if settings.templates == "alert"
                else "settings.templates_ignore"
            ),
        ),
        (t("settings.field.alerts"), _style_text(settings, t)),
        (t("settings.field.ping"), yes(settings.mention_author)),
        (
            t("settings.field.delete"),
            t("settings.delete_within", distance=delete_limit(settings))
            if settings.delete_reposts
            else yes(False),
        ),
        (t("settings.field.scope"), _scope_text(settings, t)),
        (
            t("settings.field.own"),
            t("settings.own_ignored" if settings.ignore_own_posts else "settings.own_alerted"),
        ),
        (
            t("settings.field.bots"),
            t("settings.bots_ignored" if settings.ignore_bots else "settings.bots_indexed"),
        ),
        (t("settings.field.exempt_roles"), _ids(settings.exempt_roles, "@&", t)),
        (t("settings.field.exempt_members"), _ids(settings.exempt_users, "@", t)),
        (t("settings.field.moderators"), _ids(settings.moderator_roles, "@&", t)),
        (t("settings.field.remove_alert"), yes(settings.delete_alert_with_message)),
    ]


def plural(count: int, noun: str) -> str:
    """``1 image``, ``2 images``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def progress_bar(done: int, total: int, width: int = 20) -> str:
    """A text bar such as ``▰▰▰▰▱▱▱▱ 50%``."""
    share = 0.0 if total <= 0 else min(1.0, done / total)
    filled = round(share * width)
    return "▰" * filled + "▱" * (width - filled) + f" {share:.0%}"


def scan_progress(
    channel_id: int,
    *,
    read: int,
    indexed: int,
    reposts: int,
    limit: int,
    elapsed: float,
    finished: bool,
    t: Texts = ENGLISH,
    refreshed: int = 0,
) -> str:
    """The scan's progress message: a bar, counts, rate and time left; a summary at the end.

    ``refreshed``: images indexed before and fingerprinted again for the local stage.
    """
    rate = read / elapsed if elapsed > 0 else 0.0
    counts = t(
        "scan.counts",
        messages=t("noun.message", count=read),
        images=t("noun.image", count=indexed),
        reposts=t("noun.repost", count=reposts),
    )
    if refreshed:
        counts += t("scan.refreshed", images=t("noun.older_image", count=refreshed))
    channel = f"<#{channel_id}>"
    if finished:
        return t(
            "scan.finished",
            channel=channel,
            counts=counts,
            duration=duration(elapsed, t),
            rate=rate,
        )
    left = (limit - read) / rate if rate > 0 else None
    eta = t("scan.eta", duration=duration(left, t)) if left is not None else ""
    return t(
        "scan.running",
        channel=channel,
        bar=progress_bar(read, limit),
        counts=counts,
        rate=rate,
        eta=eta,
    )


def duration(seconds: float, t: Texts = ENGLISH) -> str:
    """``45 s``, ``3 min 20 s``, ``2 h 5 min``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return t("duration.seconds", s=seconds)
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return t("duration.minutes", m=minutes, s=seconds)
    hours, minutes = divmod(minutes, 60)
    return t("duration.hours", h=hours, m=minutes)

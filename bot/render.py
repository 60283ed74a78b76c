"""Words seenit shows people: alert and result lines, settings summary. Plain text only.

Discord markup used here (``<@id>``, ``<#id>``, ``<t:seconds:R>``) is just text; the cogs
wrap these lines in embeds.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.guild_settings import GuildSettings
from bot.matching import Match, chronological, thresholds_for

#: Earlier posts listed in one alert; the rest are counted.
ALERT_LINES = 3
#: An alert whose earlier posts are all in channels some of its readers cannot open.
HIDDEN_EARLIER = "Posted before, in a channel not everyone here can see."


def when(posted_at_ms: int) -> str:
    return f"<t:{posted_at_ms // 1000}:R>"


def match_line(match: Match, *, label: str = "") -> str:
    image = match.image
    prefix = f"**{label}** " if label else ""
    return (
        f"{prefix}[{when(image.posted_at)} by <@{image.author_id}> in <#{image.channel_id}>]"
        f"({image.jump_url}) · {match.similarity:.0f}% similar"
    )


def alert_text(matches: Sequence[Match]) -> str:
    """Short, phone-readable alert: the original first, then the latest few, then a count."""
    ordered = chronological(matches)
    if not ordered:
        return ""
    lines = [match_line(ordered[0], label="Original:")]
    rest = ordered[1:]
    for match in rest[-(ALERT_LINES - 1) :] if ALERT_LINES > 1 else []:
        lines.append(match_line(match))
    hidden = len(rest) - min(len(rest), ALERT_LINES - 1)
    if hidden > 0:
        lines.append(f"…and {hidden} more")
    times = len(ordered)
    head = "Posted before" if times == 1 else f"Posted {times} times before"
    return head + "\n" + "\n".join(lines)


def results_text(matches: Sequence[Match], limit: int = 10) -> str:
    """Search results, best first."""
    if not matches:
        return "No earlier posts of this image that you can see."
    shown = matches[:limit]
    lines = [f"{i}. {match_line(m)}" for i, m in enumerate(shown, 1)]
    if len(matches) > limit:
        lines.append(f"…and {len(matches) - limit} more")
    return "\n".join(lines)


def _ids(values: frozenset[int], mark: str) -> str:
    return ", ".join(f"<{mark}{v}>" for v in sorted(values)) or "none"


def settings_fields(settings: GuildSettings) -> list[tuple[str, str]]:
    """(name, value) pairs describing a guild's configuration."""
    rule = thresholds_for(settings)
    if settings.watch_mode == "all":
        watching = "every channel I can read"
        if settings.unwatched:
            watching += f", except {_ids(settings.unwatched, '#')}"
    else:
        watching = f"only {_ids(settings.watched, '#')}"
    style: str = settings.alert_style
    if style == "log":
        style += f" in <#{settings.log_channel_id}>" if settings.log_channel_id else " (no channel)"
    age = f"{settings.max_age_days} days" if settings.max_age_days else "any age"
    return [
        ("Watching", watching),
        (
            "Sensitivity",
            f"{settings.sensitivity} (distance ≤ {rule.max256} of 256"
            + (", expert threshold" if settings.threshold is not None else "")
            + ")",
        ),
        (
            "Meme templates",
            "alerted" if settings.templates == "alert" else "ignored (same picture, new caption)",
        ),
        ("Alerts", style),
        ("Ping the author", "yes" if settings.mention_author else "no"),
        ("Delete reposts", "yes" if settings.delete_reposts else "no"),
        ("Scope", f"{'whole server' if settings.scope == 'guild' else 'same channel'}, {age}"),
        ("Own earlier posts", "ignored" if settings.ignore_own_posts else "alerted"),
        ("Exempt roles", _ids(settings.exempt_roles, "@&")),
        ("Exempt members", _ids(settings.exempt_users, "@")),
        ("Moderator roles", _ids(settings.moderator_roles, "@&")),
        ("Remove alert with its message", "yes" if settings.delete_alert_with_message else "no"),
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
) -> str:
    """The scan's progress message: a bar, counts, rate and time left; a summary at the end."""
    rate = read / elapsed if elapsed > 0 else 0.0
    counts = (
        f"{plural(read, 'message')} read · {plural(indexed, 'image')} indexed"
        f" · {plural(reposts, 'repost')} found"
    )
    if finished:
        return (
            f"Scanned <#{channel_id}>: {counts}, in {_duration(elapsed)} ({rate:.0f} messages/s)."
        )
    left = (limit - read) / rate if rate > 0 else None
    eta = f", about {_duration(left)} left at most" if left is not None else ""
    return (
        f"Scanning <#{channel_id}>…\n{progress_bar(read, limit)}\n{counts}\n"
        f"{rate:.0f} messages/s{eta}"
    )


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"

"""Self-diagnosis: which permissions seenit lacks for a guild's settings, and what that breaks.

Pure: permissions come in as sets of discord.py flag names ("send_messages", ...), granted
in one channel. Each message is one whole template (``str.format``) for translation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.guild_settings import GuildSettings

#: Permission flag -> the name Discord shows in its settings.
PERMISSION_NAMES: dict[str, str] = {
    "view_channel": "View Channel",
    "read_message_history": "Read Message History",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "attach_files": "Attach Files",
    "add_reactions": "Add Reactions",
    "manage_messages": "Manage Messages",
}

BREAKS_VIEW = "nothing posted there is checked"
BREAKS_HISTORY = "reply alerts, history scans and catching up after a restart fail"
BREAKS_REPLY = "reply alerts cannot be posted"
BREAKS_EMBED = "alerts arrive empty (they are embeds)"
BREAKS_PICTURES = "alerts come without their comparison picture"
BREAKS_REACTION = "the repost reaction cannot be added"
BREAKS_DELETE = "reposts are not deleted"
BREAKS_LOG = "log alerts cannot be posted"
BREAKS_NO_LOG_CHANNEL = "log-style alerts have no channel: pick one with `/repost alerts`"

CHECK_TITLE = "Self-check"
CHECK_ALL_GOOD = "Everything works: I have every permission these settings need."
CHECK_PROBLEM_LINE = "⚠️ {where}: missing {missing}: {breaks}."
CHECK_NO_CHANNEL_LINE = "⚠️ {breaks}."
CHECK_FINE_CHANNELS = "✓ {count} watched channels have every permission they need."
CHECK_HIDDEN_CHANNELS = "ℹ️ {count} channels are not watched because I cannot see them: {channels}."
CHECK_NOTHING_WATCHED = "⚠️ No channel is watched: `/repost watch` one, or `/repost mode all`."
CHECK_LOG_WHERE = "log channel {channel}"
CHECK_SETTINGS = "Alerts: **{style}** · deleting reposts: **{deleting}**"
CHECK_YES = "on"
CHECK_NO = "off"
SAVED_WARNING_HEADING = "⚠️ This will not work yet"

CONTENT_DELIVERED = "✓ Message content arrives (the Message Content intent works)."
CONTENT_NOT_REQUESTED = (
    "⚠️ I do not ask Discord for message content: images in messages reach me empty."
)
CONTENT_EMPTY = (
    "⚠️ The last {count} messages reached me without their content: turn on the Message"
    " Content intent for the bot in the Discord developer portal, or no image is seen."
)
CONTENT_UNKNOWN = (
    "ℹ️ No message has been posted since I started, so the Message Content intent is untested."
)

ContentState = Literal["delivered", "not requested", "empty", "unknown"]
#: Messages in a row arriving empty before the intent is called broken.
EMPTY_IN_A_ROW = 3


@dataclass(frozen=True, slots=True)
class Problem:
    """Permissions missing in one place, and what that breaks.

    ``channel_id`` is None for a problem with no channel (a log style without a channel).
    """

    channel_id: int | None
    missing: tuple[str, ...]
    breaks: str
    log: bool = False


def watched_needs(settings: GuildSettings) -> list[tuple[str, str]]:
    """(permission, what breaks without it) in every watched channel, most basic first."""
    needs = [("view_channel", BREAKS_VIEW), ("read_message_history", BREAKS_HISTORY)]
    if settings.alert_style == "reply":
        needs.append(("send_messages", BREAKS_REPLY))
        needs.append(("embed_links", BREAKS_EMBED))
        if settings.alert_pictures:
            needs.append(("attach_files", BREAKS_PICTURES))
    elif settings.alert_style == "reaction":
        needs.append(("add_reactions", BREAKS_REACTION))
    if settings.delete_reposts:
        needs.append(("manage_messages", BREAKS_DELETE))
    return needs


LOG_NEEDS = ("view_channel", "send_messages", "embed_links")


def _problem(
    channel_id: int | None, granted: frozenset[str], needs: Sequence[tuple[str, str]]
) -> Problem | None:
    missing = [(p, b) for p, b in needs if p not in granted]
    if not missing:
        return None
    if "view_channel" in {p for p, _ in missing}:
        # Nothing else matters in a channel seenit cannot see.
        return Problem(channel_id, ("view_channel",), dict(needs)["view_channel"])
    return Problem(channel_id, tuple(p for p, _ in missing), missing[0][1])


def diagnose(
    settings: GuildSettings,
    watched: Mapping[int, frozenset[str]],
    log_channel: frozenset[str] | None,
) -> list[Problem]:
    """Everything that cannot work: ``watched`` maps each watched channel to the permissions
    granted there, ``log_channel`` the permissions in the log channel (None: it is gone)."""
    found: list[Problem] = []
    needs = watched_needs(settings)
    for channel_id, granted in watched.items():
        problem = _problem(channel_id, granted, needs)
        if problem is not None:
            found.append(problem)
    if settings.alert_style == "log":
        if settings.log_channel_id is None or log_channel is None:
            found.append(Problem(None, (), BREAKS_NO_LOG_CHANNEL, log=True))
        else:
            log_needs = [(p, BREAKS_LOG) for p in LOG_NEEDS]
            problem = _problem(settings.log_channel_id, log_channel, log_needs)
            if problem is not None:
                found.append(Problem(problem.channel_id, problem.missing, BREAKS_LOG, log=True))
    return found


#: Channels named in one line of the report; the rest are counted.
CHANNELS_PER_LINE = 5
CHECK_MORE_CHANNELS = "{channels} and {count} more"


def problem_lines(problems: Sequence[Problem]) -> list[str]:
    """One line per kind of problem, naming the channels that have it."""
    groups: dict[tuple[tuple[str, ...], str, bool], list[int | None]] = {}
    for p in problems:
        groups.setdefault((p.missing, p.breaks, p.log), []).append(p.channel_id)
    lines = []
    for (missing, breaks, log), channel_ids in groups.items():
        ids = [c for c in channel_ids if c is not None]
        if not ids:
            lines.append(CHECK_NO_CHANNEL_LINE.format(breaks=breaks))
            continue
        named = ", ".join(f"<#{c}>" for c in ids[:CHANNELS_PER_LINE])
        if len(ids) > CHANNELS_PER_LINE:
            named = CHECK_MORE_CHANNELS.format(channels=named, count=len(ids) - CHANNELS_PER_LINE)
        where = CHECK_LOG_WHERE.format(channel=named) if log else named
        names = ", ".join(PERMISSION_NAMES[p] for p in missing)
        lines.append(CHECK_PROBLEM_LINE.format(where=where, missing=names, breaks=breaks))
    return lines


def content_state(*, requested: bool, seen_with_content: bool, empty_in_a_row: int) -> ContentState:
    """Whether message content reaches seenit, from what recent messages looked like."""
    if not requested:
        return "not requested"
    if empty_in_a_row >= EMPTY_IN_A_ROW:
        return "empty"
    if seen_with_content:
        return "delivered"
    return "unknown"


def content_line(state: ContentState, empty_in_a_row: int) -> str:
    if state == "delivered":
        return CONTENT_DELIVERED
    if state == "not requested":
        return CONTENT_NOT_REQUESTED
    if state == "empty":
        return CONTENT_EMPTY.format(count=empty_in_a_row)
    return CONTENT_UNKNOWN


def report(
    settings: GuildSettings,
    problems: Sequence[Problem],
    *,
    watched_count: int,
    hidden: Sequence[int],
    content: str,
) -> str:
    """The /repost check answer."""
    lines = [
        CHECK_SETTINGS.format(
            style=settings.alert_style,
            deleting=CHECK_YES if settings.delete_reposts else CHECK_NO,
        ),
        content,
    ]
    if watched_count == 0:
        lines.append(CHECK_NOTHING_WATCHED)
    lines.extend(problem_lines(problems))
    fine = watched_count - sum(1 for p in problems if p.channel_id is not None and not p.log)
    if fine > 0:
        lines.append(CHECK_FINE_CHANNELS.format(count=fine))
    if hidden:
        shown = ", ".join(f"<#{c}>" for c in hidden[:10]) + (" …" if len(hidden) > 10 else "")
        lines.append(CHECK_HIDDEN_CHANNELS.format(count=len(hidden), channels=shown))
    if not problems and watched_count:
        lines.append(CHECK_ALL_GOOD)
    return "\n".join(lines)


def new_problems(before: Sequence[Problem], after: Sequence[Problem]) -> list[Problem]:
    """Problems a change of settings brought (a permission newly missing somewhere): shown as
    warnings when the change is saved."""
    old = {(p.channel_id, p.log): set(p.missing) for p in before}
    return [
        p
        for p in after
        if (p.channel_id, p.log) not in old or set(p.missing) - old[(p.channel_id, p.log)]
    ]

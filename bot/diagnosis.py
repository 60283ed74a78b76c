"""Self-diagnosis: which permissions seenit lacks for a guild's settings, and what that breaks.

Pure: permissions come in as sets of discord.py flag names ("send_messages", ...), granted
in one channel. The words are in the catalogues (sections check, permission).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.guild_settings import GuildSettings
from bot.i18n import Texts

#: The permissions the diagnosis asks about (discord.py flag names; catalogue "permission.*").
PERMISSIONS = (
    "view_channel",
    "read_message_history",
    "send_messages",
    "embed_links",
    "attach_files",
    "add_reactions",
    "manage_messages",
)

ContentState = Literal["delivered", "not requested", "empty", "unknown"]
#: Messages in a row arriving empty before the intent is called broken.
EMPTY_IN_A_ROW = 3


@dataclass(frozen=True, slots=True)
class Problem:
    """Permissions missing in one place, and what that breaks.

    ``channel_id`` is None for a problem with no channel (a log style without a channel);
    ``breaks`` names what breaks (catalogue "check.breaks.*").
    """

    channel_id: int | None
    missing: tuple[str, ...]
    breaks: str
    log: bool = False


def watched_needs(settings: GuildSettings) -> list[tuple[str, str]]:
    """(permission, what breaks without it) in every watched channel, most basic first."""
    needs = [("view_channel", "view"), ("read_message_history", "history")]
    if settings.alert_style == "reply":
        needs.append(("send_messages", "reply"))
        needs.append(("embed_links", "embed"))
        if settings.alert_pictures:
            needs.append(("attach_files", "pictures"))
    elif settings.alert_style == "reaction":
        needs.append(("add_reactions", "reaction"))
    if settings.delete_reposts:
        needs.append(("manage_messages", "delete"))
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
            found.append(Problem(None, (), "no_log_channel", log=True))
        else:
            log_needs = [(p, "log") for p in LOG_NEEDS]
            problem = _problem(settings.log_channel_id, log_channel, log_needs)
            if problem is not None:
                found.append(Problem(problem.channel_id, problem.missing, "log", log=True))
    return found


#: Channels named in one line of the report; the rest are counted.
CHANNELS_PER_LINE = 5


def problem_lines(t: Texts, problems: Sequence[Problem]) -> list[str]:
    """One line per kind of problem, naming the channels that have it."""
    groups: dict[tuple[tuple[str, ...], str, bool], list[int | None]] = {}
    for p in problems:
        groups.setdefault((p.missing, p.breaks, p.log), []).append(p.channel_id)
    lines = []
    for (missing, breaks, log), channel_ids in groups.items():
        what = t(f"check.breaks.{breaks}")
        ids = [c for c in channel_ids if c is not None]
        if not ids:
            lines.append(t("check.no_channel_line", breaks=what))
            continue
        named = ", ".join(f"<#{c}>" for c in ids[:CHANNELS_PER_LINE])
        if len(ids) > CHANNELS_PER_LINE:
            named = t("check.more_channels", channels=named, number=len(ids) - CHANNELS_PER_LINE)
        where = t("check.log_where", channel=named) if log else named
        names = ", ".join(t(f"permission.{p}") for p in missing)
        lines.append(t("check.problem_line", where=where, missing=names, breaks=what))
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


def content_line(t: Texts, state: ContentState, empty_in_a_row: int) -> str:
    if state == "empty":
        return t("check.content.empty", count=empty_in_a_row)
    return t(f"check.content.{state.replace(' ', '_')}")


def report(
    t: Texts,
    settings: GuildSettings,
    problems: Sequence[Problem],
    *,
    watched_count: int,
    hidden: Sequence[int],
    content: str,
) -> str:
    """The /repost check answer."""
    lines = [
        t(
            "check.settings",
            style=settings.alert_style,
            deleting=t("check.on") if settings.delete_reposts else t("check.off"),
        ),
        content,
    ]
    if watched_count == 0:
        lines.append(t("check.nothing_watched"))
    lines.extend(problem_lines(t, problems))
    fine = watched_count - sum(1 for p in problems if p.channel_id is not None and not p.log)
    if fine > 0:
        lines.append(t("check.fine_channels", count=fine))
    if hidden:
        shown = ", ".join(f"<#{c}>" for c in hidden[:10]) + (" …" if len(hidden) > 10 else "")
        lines.append(t("check.hidden_channels", count=len(hidden), channels=shown))
    if not problems and watched_count:
        lines.append(t("check.all_good"))
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

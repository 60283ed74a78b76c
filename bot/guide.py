"""Words seenit uses to introduce and explain itself: /help, the welcome, /repost check.

Every message is one whole template with named fields (``str.format``), so each can be
translated as a unit. Plain text with Discord markup only; the cogs wrap it in embeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.guild_settings import GuildSettings
from bot.matching import thresholds_for

HELP_TITLE = "seenit"
HELP_ABOUT = (
    "I spot reposts: when an image posted here was posted before, I point to the earlier"
    " post. I keep a small fingerprint of each image, never the image itself."
)
HELP_MEMBER_HEADING = "Commands you can use"
HELP_ADMIN_HEADING = "Server settings (you may change them)"
HELP_BUTTONS = (
    "Under an alert: **Why?** for everyone; **Not a repost** and **Allow this image** for"
    " moderators; **Delete alert** for moderators and the poster."
)
HELP_SETTINGS_HEADING = "Here now"
HELP_DOCS = "Full guide: {url}"
HELP_MENU_LINE = "**{name}** (right-click a message → Apps): {description}"
HELP_COMMAND_LINE = "`/{name}`: {description}"
#: Message menus have no description on Discord: /help gives them one.
MENU_DESCRIPTIONS = {"Find similar": "earlier posts of that message's images"}

SETTINGS_LINE = "Watching {watching} · alerts: {alerts} · sensitivity: {sensitivity}{deleting}"
WATCHING_ALL = "every channel I can read"
WATCHING_ALL_EXCEPT = "every channel I can read except {count}"
WATCHING_LISTED = "{count} listed"
DELETING_ON = " · reposts deleted"

WELCOME_TITLE = "Hello! I'm seenit"
WELCOME_TEXT = (
    "I spot reposts: when an image posted here was posted before, I reply with a link to the"
    " earlier post.\n\n"
    "**Right now** I watch {watching}, and my alerts are public replies that ping nobody."
    " Nothing is ever deleted unless an admin turns that on.\n\n"
    "**To change that** (Manage Server):\n"
    "`/repost watch` / `/repost unwatch`: a channel or a whole category\n"
    "`/repost alerts`: reply, reaction, a log channel, or silent\n"
    "`/repost check`: what I can and cannot do in each channel\n"
    "Anyone can use `/findsimilar` and `/help`. Guide: {url}"
)
#: The welcome's first line while the history is being indexed, and once it is done.
ONBOARD_INDEXING = (
    "Indexing the last {days} days of {count} channels so reposts of them are caught…"
)
ONBOARD_PROGRESS = (
    "Indexing the last {days} days so reposts of them are caught.\n{channel_progress}"
)
ONBOARD_DONE = "Indexed the last {days} days: {messages} read · {images} indexed."
ONBOARD_NOTHING = "No channel of this server is watched yet: nothing to index."

MODERATORS_ADDED = (
    "{role} is a moderator role now: its members may use `/repost` and the moderator buttons."
)
MODERATORS_REMOVED = "{role} is no longer a moderator role."
MODERATORS_NOW = "Moderator roles: {roles}."
MODERATORS_NONE = "none (Manage Server and Manage Messages only)"

NEED_ADMIN = (
    "You need the Manage Server permission or one of this server's moderator roles to do that."
)
NEED_MANAGE_SERVER = "Only members with the Manage Server permission can do that."
NEED_MODERATOR = "Only moderators (Manage Messages or a moderator role) can do that."


@dataclass(frozen=True, slots=True)
class HelpEntry:
    """One command in /help: its name and description, and whether it is a message menu."""

    name: str
    description: str
    menu: bool = False


def help_lines(entries: Sequence[HelpEntry]) -> str:
    lines = [
        (HELP_MENU_LINE if e.menu else HELP_COMMAND_LINE).format(
            name=e.name, description=e.description
        )
        for e in entries
    ]
    return "\n".join(lines)


def watching_words(settings: GuildSettings) -> str:
    if settings.watch_mode == "listed":
        return WATCHING_LISTED.format(count=len(settings.watched))
    if settings.unwatched:
        return WATCHING_ALL_EXCEPT.format(count=len(settings.unwatched))
    return WATCHING_ALL


def settings_line(settings: GuildSettings) -> str:
    """The current settings in one line."""
    rule = thresholds_for(settings)
    return SETTINGS_LINE.format(
        watching=watching_words(settings),
        alerts=settings.alert_style,
        sensitivity=f"{settings.sensitivity} (≤ {rule.max256}/256)",
        deleting=DELETING_ON if settings.delete_reposts else "",
    )

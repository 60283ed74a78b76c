"""How seenit introduces and explains itself: /help, the welcome, the settings in one line.

The words live in the catalogues (bot/locales, sections help, welcome, onboard); these
functions assemble them for one language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.guild_settings import GuildSettings
from bot.i18n import Texts
from bot.matching import thresholds_for

#: Message menus have no description on Discord: /help gives them one (catalogue key).
MENU_DESCRIPTIONS = {"Find similar": "help.menu_find_similar"}


@dataclass(frozen=True, slots=True)
class HelpEntry:
    """One command in /help: its name and description, and whether it is a message menu."""

    name: str
    description: str
    menu: bool = False


def help_lines(t: Texts, entries: Sequence[HelpEntry]) -> str:
    return "\n".join(
        t(
            "help.menu_line" if e.menu else "help.command_line",
            name=e.name,
            description=e.description,
        )
        for e in entries
    )


def watching_words(t: Texts, settings: GuildSettings) -> str:
    if settings.watch_mode == "listed":
        return t("help.watching_listed", count=len(settings.watched))
    if settings.unwatched:
        return t("help.watching_all_except", number=len(settings.unwatched))
    return t("help.watching_all")


def settings_line(t: Texts, settings: GuildSettings) -> str:
    """The current settings in one line."""
    return t(
        "help.settings_line",
        watching=watching_words(t, settings),
        alerts=t.choice(settings.alert_style),
        sensitivity=t.choice(settings.sensitivity),
        distance=thresholds_for(settings).max256,
        deleting=t("help.deleting_on") if settings.delete_reposts else "",
    )

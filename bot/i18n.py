"""Words in other languages: one catalogue per language under ``bot/locales/``.

A catalogue is a TOML file named after a Discord locale (``de.toml``, ``pt-BR.toml``). Its keys
are message ids, its values texts with ``{placeholders}``; a message that depends on a number is
a table of CLDR plural forms (``one``, ``other``, ...). Translators edit these files only.

Keys under ``command.`` and ``menu.`` name application commands, their options and choices
(see :func:`command_key`); the English ones live in the code (docstrings, ``describe``), so the
English catalogue has none of them. Everything else has its English text in ``en-US.toml``,
which is also the fallback for a key a language lacks.

Pure: no discord here. The cogs pick the locale (the member's, or the server's for posts in a
channel) and ask :func:`texts` for the words.
"""

from __future__ import annotations

import functools
import logging
import string
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_LOCALE = "en-US"
LOCALES_DIR = Path(__file__).with_name("locales")
PLURAL_FORMS = frozenset({"zero", "one", "two", "few", "many", "other"})
#: Key prefixes of application command names, descriptions and choices.
COMMAND_PREFIXES = ("command.", "menu.", "choice.")

#: A plain text, or a text per plural form.
Message = str | Mapping[str, str]


class CatalogueError(ValueError):
    """A catalogue file that cannot be used (bad TOML, a value that is not text)."""


@dataclass(frozen=True, slots=True)
class Catalogue:
    """One language's messages, keyed by message id."""

    locale: str
    messages: Mapping[str, Message]


def _is_plural(table: Mapping[str, object]) -> bool:
    return "other" in table and set(table) <= PLURAL_FORMS


def _flatten(table: Mapping[str, object], prefix: str = "") -> Iterator[tuple[str, Message]]:
    for name, value in table.items():
        key = prefix + name
        if isinstance(value, str):
            yield key, value
        elif isinstance(value, dict) and _is_plural(value):
            if not all(isinstance(v, str) for v in value.values()):
                raise CatalogueError(f"{key}: plural forms must be text")
            yield key, dict(value)
        elif isinstance(value, dict):
            yield from _flatten(value, key + ".")
        else:
            raise CatalogueError(f"{key}: expected text, got {type(value).__name__}")


def load_catalogue(path: Path) -> Catalogue:
    """Read one catalogue file; its name (without .toml) is the locale."""
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{path.name}: {exc}") from exc
    return Catalogue(path.stem, dict(_flatten(raw)))


@functools.cache
def catalogues(directory: Path = LOCALES_DIR) -> Mapping[str, Catalogue]:
    """Every catalogue in ``directory``, by locale."""
    found = (load_catalogue(p) for p in sorted(directory.glob("*.toml")))
    return {c.locale: c for c in found}


def resolve(locale: str, available: Mapping[str, object] | None = None) -> str:
    """The catalogue for a Discord locale: the same one, else the same language, else English.

    ``es-419`` gets ``es-ES``, ``en-GB`` gets ``en-US``, an unknown locale gets English.
    """
    have = catalogues() if available is None else available
    if locale in have:
        return locale
    language = locale.split("-")[0].lower()
    for candidate in sorted(have):
        if candidate.split("-")[0].lower() == language:
            return candidate
    return DEFAULT_LOCALE


def plural_form(locale: str, count: int) -> str:
    """The CLDR plural category of an integer count in a language (the forms seenit ships)."""
    language = locale.split("-")[0].lower()
    if language in ("fr", "pt"):
        # French and Portuguese: 0 and 1 are singular.
        return "one" if count in (0, 1) else "other"
    return "one" if count == 1 else "other"


def placeholders(text: str) -> frozenset[str]:
    """The names of the ``{placeholders}`` in a text."""
    return frozenset(
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(text)
        if name is not None
    )


class _Formatter(string.Formatter):
    """str.format, with ``{n:n}`` grouping thousands the language's way."""

    def __init__(self, group: str) -> None:
        self.group = group

    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec == "n" and isinstance(value, int):
            return f"{value:,}".replace(",", self.group)
        return str(super().format_field(value, format_spec))


class Texts:
    """The messages of one language: ``t("key", name=value)``; ``count=`` picks a plural form."""

    def __init__(self, locale: str) -> None:
        all_catalogues = catalogues()
        self.locale = resolve(locale, all_catalogues)
        self._own = all_catalogues.get(self.locale, Catalogue(self.locale, {})).messages
        self._english = all_catalogues[DEFAULT_LOCALE].messages
        group = self._own.get("number.group", self._english.get("number.group", ","))
        self._formatter = _Formatter(group if isinstance(group, str) else ",")

    def __repr__(self) -> str:
        return f"Texts({self.locale!r})"

    def _template(self, key: str, count: int | None) -> str:
        message = self._own.get(key)
        locale = self.locale
        if message is None:
            message = self._english.get(key)
            locale = DEFAULT_LOCALE
        if message is None:
            raise KeyError(f"no message {key!r} in any catalogue")
        if isinstance(message, str):
            return message
        if count is None:
            raise TypeError(f"message {key!r} has plural forms: give count=")
        form = plural_form(locale, count)
        return message.get(form, message["other"])

    def __call__(self, key: str, /, **values: Any) -> str:
        count = values.get("count")
        template = self._template(key, count if isinstance(count, int) else None)
        try:
            return self._formatter.format(template, **values)
        except (KeyError, IndexError, ValueError) as exc:
            if self.locale == DEFAULT_LOCALE:
                raise
            # A translation with a placeholder the code does not fill: say it in English
            # rather than not at all.
            log.warning("message %s in %s cannot be formatted (%s)", key, self.locale, exc)
            return texts(DEFAULT_LOCALE)(key, **values)

    def has(self, key: str) -> bool:
        """Whether this language or English has a message."""
        return key in self._own or key in self._english

    def choice(self, value: str) -> str:
        """A choice's name as this language shows it (English shows the value itself)."""
        message = self._own.get(f"choice.{value}")
        return message if isinstance(message, str) else value

    def number(self, value: int) -> str:
        """An integer with the language's thousands separator."""
        return self._formatter.format_field(value, "n")


@functools.cache
def texts(locale: str = DEFAULT_LOCALE) -> Texts:
    """The messages for a Discord locale (``"de"``, ``"pt-BR"``), falling back to English."""
    return Texts(locale)


ENGLISH = texts()


def command_text(key: str, locale: str) -> str | None:
    """A command name, description or choice in a language; None for English or if missing.

    Never falls back to English: Discord shows the default text when a localisation is absent.
    """
    have = catalogues()
    resolved = resolve(locale, have)
    if resolved == DEFAULT_LOCALE:
        return None
    value = have[resolved].messages.get(key)
    return value if isinstance(value, str) else None


def slug(name: str) -> str:
    """A context menu's name as a key part: ``Find similar`` -> ``find_similar``."""
    return "_".join(name.lower().split())


def command_key(kind: str, path: str, field: str, option: str | None = None) -> str:
    """The catalogue key of a command's (or an option's) name or description.

    ``kind`` is ``command`` (slash commands and groups; ``path`` is the qualified name such as
    ``repost watch``) or ``menu`` (context menus; ``path`` is the menu's name).
    """
    parts = [kind, *(path.split() if kind == "command" else [slug(path)])]
    if option is not None:
        parts += ["options", option]
    return ".".join([*parts, field])


def choice_key(value: str | int | float) -> str:
    """The catalogue key of a choice's name: choices are named by their value."""
    return f"choice.{value}"

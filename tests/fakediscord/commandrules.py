"""Discord's rules for application command definitions, as its API enforces them on a sync.

From the Application Commands documentation: chat-input command and option names match
``^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$`` and use the lowercase form of any letter
that has one; user and message command names are 1-32 characters of any kind; chat-input
command and option descriptions are 1-100 characters, other commands' are empty; choice names
are 1-100 characters. ``name_localizations`` and ``description_localizations`` are keyed by
the locales Discord supports and obey the same rules as the default texts. Sibling names
(options of a command, subcommands of a group) are unique, in every locale. A violation
answers 400 with code 50035 (Invalid Form Body), naming the field.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from .state import JSON

#: The locales Discord accepts in ``*_localizations`` (Reference > Locales).
LOCALES = frozenset(
    {
        "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu",
        "nl", "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru",
        "uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko",
    }
)  # fmt: skip

CHAT_INPUT = 1
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
MAX_OPTIONS = 25


def _script_allowed(char: str) -> bool:
    """\\p{L}, \\p{N}, Devanagari or Thai script, '-' or '_'."""
    if char in "-_":
        return True
    if unicodedata.category(char)[0] in "LN":
        return True
    code = ord(char)
    return 0x0900 <= code <= 0x097F or 0xA8E0 <= code <= 0xA8FF or 0x0E00 <= code <= 0x0E7F


def chat_input_name_error(name: object) -> str | None:
    """Why a chat-input command/option name is invalid, or None."""
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        return "must be 1-32 characters"
    if not all(_script_allowed(c) for c in name):
        return "must match ^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$"
    if name != name.lower():
        return "must be lowercase"
    return None


def _length_error(text: object, low: int, high: int) -> str | None:
    if not isinstance(text, str) or not low <= len(text) <= high:
        return f"must be {low}-{high} characters"
    return None


def _localizations(field: str, value: object) -> Iterator[tuple[str, str, object]]:
    if value is None:
        return
    if not isinstance(value, dict):
        yield field, "must be an object", value
        return
    for locale, text in value.items():
        if locale not in LOCALES:
            yield f"{field}.{locale}", "is not a valid locale", text
        else:
            yield f"{field}.{locale}", "", text


def _check_text(
    path: str, field: str, item: JSON, name_rule: str, description_range: tuple[int, int] | None
) -> Iterator[str]:
    """Errors of one object's name, description and their localisations."""

    def name_error(text: object) -> str | None:
        if name_rule == "chat_input":
            return chat_input_name_error(text)
        return _length_error(text, 1, 100 if name_rule == "choice" else 32)

    error = name_error(item.get("name"))
    if error:
        yield f"{path}.name: {error}"
    for where, problem, text in _localizations(f"{path}.name_localizations", item.get(field)):
        error = problem or name_error(text)
        if error:
            yield f"{where}: {error}"
    if description_range is None:
        return
    low, high = description_range
    error = _length_error(item.get("description", ""), low, high)
    if error:
        yield f"{path}.description: {error}"
    localized = item.get("description_localizations")
    for where, problem, text in _localizations(f"{path}.description_localizations", localized):
        error = problem or _length_error(text, max(low, 1), high)
        if error:
            yield f"{where}: {error}"


def _unique(path: str, siblings: list[JSON]) -> Iterator[str]:
    """Sibling names are unique by default name and in every locale."""
    locales = {"": [s.get("name") for s in siblings]}
    for s in siblings:
        for locale, text in (s.get("name_localizations") or {}).items():
            locales.setdefault(locale, []).append(text)
    for locale, names in locales.items():
        if len(names) != len(set(names)):
            where = f" ({locale})" if locale else ""
            yield f"{path}: option names must be unique{where}"


def _check_options(path: str, options: list[JSON]) -> Iterator[str]:
    if len(options) > MAX_OPTIONS:
        yield f"{path}: at most {MAX_OPTIONS} options"
    yield from _unique(path, options)
    for i, option in enumerate(options):
        where = f"{path}.{i}"
        yield from _check_text(where, "name_localizations", option, "chat_input", (1, 100))
        choices = option.get("choices") or []
        if len(choices) > MAX_OPTIONS:
            yield f"{where}.choices: at most {MAX_OPTIONS} choices"
        for j, choice in enumerate(choices):
            yield from _check_text(
                f"{where}.choices.{j}", "name_localizations", choice, "choice", None
            )
        if option.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
            yield from _check_options(f"{where}.options", option.get("options") or [])


def command_errors(command: JSON) -> list[str]:
    """Every rule a command definition breaks (empty when Discord would accept it)."""
    ctype = int(command.get("type", CHAT_INPUT))
    if ctype == CHAT_INPUT:
        errors = list(_check_text("", "name_localizations", command, "chat_input", (1, 100)))
        errors += _check_options("options", command.get("options") or [])
    else:
        errors = list(_check_text("", "name_localizations", command, "menu", None))
        if command.get("description"):
            errors.append(".description: must be empty for user and message commands")
    return errors


def commands_errors(commands: list[JSON]) -> list[str]:
    """Errors of a bulk overwrite, each prefixed with the command's index."""
    errors = [f"{i}{e}" for i, c in enumerate(commands) for e in command_errors(c)]
    by_type: dict[int, list[JSON]] = {}
    for c in commands:
        by_type.setdefault(int(c.get("type", CHAT_INPUT)), []).append(c)
    for siblings in by_type.values():
        errors += [e.replace("option names", "command names") for e in _unique("", siblings)]
    return errors


def _discord_wording(problem: str, key: str) -> JSON:
    """One entry of ``_errors`` as Discord words it."""
    if problem.startswith("must be ") and problem.endswith(" characters"):
        low, _, high = problem.removeprefix("must be ").removesuffix(" characters").partition("-")
        return {
            "code": "BASE_TYPE_BAD_LENGTH",
            "message": f"Must be between {low} and {high} in length.",
        }
    if problem == "is not a valid locale":
        return {"code": "ENUM_TYPE_COERCE", "message": f'Value "{key}" is not a valid enum value.'}
    return {"code": "APPLICATION_COMMAND_INVALID", "message": problem[:1].upper() + problem[1:]}


def form_errors(commands: list[JSON]) -> JSON:
    """The ``errors`` object of Discord's "Invalid Form Body" answer to a bulk overwrite:
    each rule broken, nested by the path of the field (command index first), e.g.
    ``{"0": {"description": {"_errors": [{"code": ..., "message": ...}]}}}``."""
    tree: JSON = {}
    for error in commands_errors(commands):
        where, _, problem = error.partition(": ")
        index = where[: len(where) - len(where.lstrip("0123456789"))]
        keys = [index, *where[len(index) :].lstrip(".").split(".")] if index else []
        node = tree
        for key in (k for k in keys if k):
            node = node.setdefault(key, {})
        entry = _discord_wording(problem, keys[-1] if keys else "")
        node.setdefault("_errors", []).append(entry)
    return tree

"""Other languages: the catalogues, the lookup, and what Discord and members get."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands

from bot import i18n
from bot.client import SeenitTranslator
from tests.botworld import World, seenit_running, text_of
from tests.fakediscord import make_bot, running_bot
from tests.fakediscord.commandrules import LOCALES, chat_input_name_error, command_errors
from tests.support import DATA, VARIANTS, buttons, photo

JSON = dict[str, Any]
#: The languages seenit ships besides English.
SHIPPED = ("de", "fr", "es-ES", "pt-BR")
CATALOGUES = i18n.catalogues()


def message_keys(catalogue: i18n.Catalogue) -> set[str]:
    return {k for k in catalogue.messages if not k.startswith(i18n.COMMAND_PREFIXES)}


def command_keys(catalogue: i18n.Catalogue) -> set[str]:
    return {k for k in catalogue.messages if k.startswith(i18n.COMMAND_PREFIXES)}


def forms(message: i18n.Message) -> dict[str, str]:
    return {"": message} if isinstance(message, str) else dict(message)


def test_every_shipped_language_has_a_catalogue() -> None:
    assert set(CATALOGUES) == {i18n.DEFAULT_LOCALE, *SHIPPED}
    # Files are named after Discord's locales.
    assert set(CATALOGUES) <= LOCALES


@pytest.mark.parametrize("locale", SHIPPED)
def test_every_message_exists_in_every_language_with_the_same_placeholders(locale: str) -> None:
    english = CATALOGUES[i18n.DEFAULT_LOCALE]
    other = CATALOGUES[locale]
    assert command_keys(english) == set(), "English command texts live in the code"
    missing = message_keys(english) - message_keys(other)
    assert not missing, f"{locale} lacks {sorted(missing)}"
    stale = message_keys(other) - message_keys(english)
    assert not stale, f"{locale} has messages English does not: {sorted(stale)}"
    for key in message_keys(english):
        # A plural form may leave the number out ("Posted before"), but no form uses a
        # placeholder English lacks, and together the forms use them all.
        want = set().union(*(i18n.placeholders(t) for t in forms(english.messages[key]).values()))
        used: set[str] = set()
        for form, text in forms(other.messages[key]).items():
            found = i18n.placeholders(text)
            assert found <= want, f"{locale} {key} {form}: unknown {sorted(found - want)}"
            used |= found
        assert used == want, f"{locale} {key} never uses {sorted(want - used)}"
        if not isinstance(english.messages[key], str):
            assert not isinstance(other.messages[key], str), f"{locale} {key} needs plural forms"
            assert {"one", "other"} <= set(other.messages[key]), f"{locale} {key}"


def test_every_message_formats_in_every_language() -> None:
    for locale in CATALOGUES:
        t = i18n.texts(locale)
        for key, message in CATALOGUES[i18n.DEFAULT_LOCALE].messages.items():
            names = i18n.placeholders(next(iter(forms(message).values())))
            values: dict[str, object] = {n: 1234 for n in names if n != "count"}
            count = 2 if not isinstance(message, str) or "count" in names else None
            assert t(key, count=count, **values)


@pytest.mark.parametrize("locale", SHIPPED)
def test_translated_command_names_and_descriptions_obey_discords_rules(locale: str) -> None:
    for key in command_keys(CATALOGUES[locale]):
        value = CATALOGUES[locale].messages[key]
        assert isinstance(value, str), key
        if key.startswith("command.") and key.endswith(".name"):
            assert chat_input_name_error(value) is None, f"{locale} {key}: {value!r}"
        elif key.startswith(("menu.", "choice.")):
            limit = 32 if key.startswith("menu.") else 100
            assert 1 <= len(value) <= limit, f"{locale} {key}: {value!r}"
        elif key.endswith(".description"):
            assert 1 <= len(value) <= 100, f"{locale} {key}: {len(value)} characters"


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("findsimilar", True),
        ("ähnliche-suchen", True),
        ("max_age_days", True),
        ("खोज", True),  # Devanagari
        ("ค้นหา", True),  # Thai, with a combining vowel sign
        ("Ähnliche", False),  # uppercase
        ("find similar", False),  # space
        ("find!", False),
        ("", False),
        ("x" * 33, False),
    ],
)
def test_discords_name_rule(name: str, ok: bool) -> None:
    assert (chat_input_name_error(name) is None) is ok


def test_locales_resolve_to_the_nearest_catalogue() -> None:
    assert i18n.resolve("de") == "de"
    assert i18n.resolve("es-419") == "es-ES"
    assert i18n.resolve("en-GB") == "en-US"
    assert i18n.resolve("ja") == "en-US"
    assert i18n.texts("ja")("error.not_here") == "You cannot use this command here."


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("en-US", 1, "1 image"),
        ("en-US", 0, "0 images"),
        ("en-US", 12345, "12,345 images"),
        ("de", 1, "1 Bild"),
        ("de", 12345, "12.345 Bilder"),
        ("fr", 0, "0 image"),  # French: zero is singular
        ("fr", 12345, "12\u202f345 images"),
        ("pt-BR", 1, "1 imagem"),
        ("es-ES", 2, "2 imágenes"),
    ],
)
def test_plurals_and_numbers_follow_the_language(locale: str, count: int, expected: str) -> None:
    assert i18n.texts(locale)("noun.image", count=count) == expected


def test_a_language_missing_a_message_falls_back_to_english(tmp_path: Path) -> None:
    (tmp_path / "en-US.toml").write_text('a = "Hello {name}"\nb = "Bye"\n', encoding="utf-8")
    (tmp_path / "de.toml").write_text('a = "Hallo {name}"\n', encoding="utf-8")
    found = i18n.catalogues(tmp_path)
    assert found["de"].messages == {"a": "Hallo {name}"}
    assert i18n.resolve("de", found) == "de"
    (tmp_path / "bad.toml").write_text("a = [1, 2]\n", encoding="utf-8")
    with pytest.raises(i18n.CatalogueError, match="a: expected text"):
        i18n.load_catalogue(tmp_path / "bad.toml")


def walk_keys(command: JSON) -> Iterator[tuple[str, JSON, str]]:
    """(catalogue key prefix, payload object, kind) of a synced command and its parts."""
    if command.get("type", 1) != 1:
        yield f"menu.{i18n.slug(command['name'])}", command, "menu"
        return

    def options(path: str, item: JSON) -> Iterator[tuple[str, JSON, str]]:
        for option in item.get("options") or []:
            if option["type"] in (1, 2):  # subcommand, subcommand group
                yield f"{path}.{option['name']}", option, "command"
                yield from options(f"{path}.{option['name']}", option)
            else:
                yield f"{path}.options.{option['name']}", option, "option"
                for choice in option.get("choices") or []:
                    yield f"choice.{choice['value']}", choice, "choice"

    yield f"command.{command['name']}", command, "command"
    yield from options(f"command.{command['name']}", command)


async def test_the_synced_commands_carry_every_translation(world: World) -> None:
    async with seenit_running(world):
        payload = world.fake.command_syncs[-1].commands
    assert payload, "seenit synced no commands"
    expected: set[str] = set()
    for command in payload:
        assert command_errors(command) == []
        for prefix, item, kind in walk_keys(command):
            fields = ["name"] if kind in ("menu", "choice") else ["name", "description"]
            for field in fields:
                key = prefix if kind == "choice" else f"{prefix}.{field}"
                expected.add(key)
                localized = item.get(f"{field}_localizations") or {}
                for locale in SHIPPED:
                    assert localized.get(locale) == CATALOGUES[locale].messages.get(key), (
                        f"{key} is not translated to {locale}"
                    )
                # Latin American Spanish clients get the Spanish of Spain, not English.
                assert localized.get("es-419") == localized.get("es-ES")
                assert "en-US" not in localized and "en-GB" not in localized
    for locale in SHIPPED:
        have = command_keys(CATALOGUES[locale])
        assert not expected - have, f"{locale} lacks {sorted(expected - have)}"
        assert not have - expected, (
            f"{locale} translates commands that do not exist: {sorted(have - expected)}"
        )


async def test_the_translator_keys_on_the_command_path() -> None:
    translator = SeenitTranslator()

    @app_commands.command(name="findsimilar", description="Find earlier posts")
    @app_commands.describe(public="Show the answer to everyone")
    async def findsimilar(interaction: discord.Interaction, public: bool = False) -> None:
        raise AssertionError

    payload = await findsimilar.get_translated_payload(
        app_commands.CommandTree(discord.Client(intents=discord.Intents.none())), translator
    )
    assert payload["name_localizations"]["de"] == "ähnliche-suchen"
    assert payload["description_localizations"]["fr"].startswith("Trouver")
    [public] = payload["options"]
    assert public["name_localizations"]["pt-BR"] == "público"
    assert "en-GB" not in payload["name_localizations"]


async def test_a_german_member_gets_german_answers(world: World) -> None:
    world.alice.user.locale = "de"
    async with seenit_running(world):
        rec = await world.fake.slash_command(world.guild, world.general, world.alice, "forgetme")
        assert rec.payload["locale"] == "de" and rec.payload["guild_locale"] == "en-US"
        german = text_of(await rec.wait_final())
        assert "/vergiss-mich bestätigen:True" in german
        rec = await world.fake.slash_command(
            world.guild, world.general, world.alice, "forgetme", {"confirm": True}
        )
        assert "Ich habe 0 Bilder von dir auf diesem Server vergessen" in text_of(
            await rec.wait_final()
        )
        # The same command for an English client answers in English.
        rec = await world.fake.slash_command(world.guild, world.general, world.bob, "forgetme")
        assert "Run `/forgetme confirm:True`" in text_of(await rec.wait_final())


async def test_alerts_follow_the_servers_language_and_answers_the_members(world: World) -> None:
    world.fake.set_guild_locale(world.guild, "de")
    world.carol.user.locale = "fr"
    chelsea = (DATA / "chelsea.jpg").read_bytes()
    async with seenit_running(world):
        await world.post(world.general, world.alice, ("chelsea.jpg", chelsea))
        await world.settled(1)
        mirrored = ("mirrored.jpg", VARIANTS["mirrored"](photo("chelsea.jpg")))
        await world.post(world.general, world.bob, mirrored)
        alert = await world.fake.wait_for_message(world.general)
        text = text_of(alert)
        # Everyone in the channel reads the alert: the server's language.
        assert "Schon einmal gepostet" in text and "% ähnlich" in text, text
        assert "Original:" in text and "Posted before" not in text
        assert set(buttons(alert)) == {"Warum?", "Kein Repost", "Bild erlauben", "Meldung löschen"}
        # Carol's client is French: the private answer to her press is French.
        rec = await world.fake.press_button(
            world.guild,
            world.general,
            world.carol,
            message=alert,
            custom_id=buttons(alert)["Warum?"],
        )
        assert rec.payload["locale"] == "fr" and rec.payload["guild_locale"] == "de"
        why = text_of(await rec.wait_final(timeout=10))
        assert "Ce qui a changé" in why and "en miroir" in why and "sur 256 bits" in why, why
        # A moderator marks it: the note on the public alert is in the server's language.
        rec = await world.fake.press_button(
            world.guild,
            world.general,
            world.mod,
            message=alert,
            custom_id=buttons(alert)["Kein Repost"],
        )
        # The moderator's client is English: so is the private answer.
        assert "Thanks: this pair" in text_of(await rec.wait_final(timeout=10))
        await world.fake.wait_until(
            lambda: "als keinen Repost markiert" in text_of(world.fake.get_message(alert) or {}),
            what="the alert's note in German",
        )


async def test_settings_and_scan_progress_in_the_right_language(world: World) -> None:
    world.mod.user.locale = "pt-BR"
    world.fake.set_guild_locale(world.guild, "es-ES")
    async with seenit_running(world):
        rec = await world.fake.slash_command(
            world.guild,
            world.general,
            world.mod,
            "repost scope",
            {"scope": "channel", "max_age_days": 1},
        )
        saved = text_of(await rec.wait_final(timeout=10))
        assert "Salvo" in saved and "mesmo canal, 1 dia" in saved and "Monitorando" in saved, saved
        rec = await world.fake.slash_command(
            world.guild, world.general, world.mod, "repost scan", {"channel": world.memes}
        )
        started = text_of(await rec.wait_final(timeout=10))
        assert "Escaneando até 1.000 mensagens" in started, started
        # The progress message is public in the channel: Spanish, the server's language.
        progress = await world.fake.wait_for_message(
            world.general, lambda m: "escaneado" in (m.get("content") or "")
        )
        assert "leído(s)" in progress["content"]


async def test_search_answers_and_refusals_in_the_members_language(world: World) -> None:
    # Latin American Spanish has no catalogue of its own: the Spanish of Spain answers.
    world.alice.user.locale = "es-419"
    world.bob.user.locale = "de"
    coffee = ("coffee.jpg", (DATA / "coffee.jpg").read_bytes())
    async with seenit_running(world):

        async def find(who: Any, options: JSON) -> str:
            rec = await world.fake.slash_command(
                world.guild, world.general, who, "findsimilar", options
            )
            return text_of(await rec.wait_final(timeout=10))

        assert "Eso no parece un enlace" in await find(world.alice, {"url": "no es un enlace"})
        broken = await find(world.alice, {"image": ("broken.png", b"\x89PNG\r\n\x1a\nnot really")})
        assert broken.startswith("No he podido leer esa imagen: "), broken
        assert broken.split(": ", 1)[1].rstrip(".") in {
            "no se pudo leer la imagen",
            "el archivo no es una imagen que seenit pueda leer",
            "la imagen está dañada o incompleta",
        }, broken
        refused = await find(world.bob, {"url": "ftp://example.com/cat.png"})
        assert refused == (
            "Ich konnte den Link nicht abrufen: nur http- und https-Links können abgerufen werden."
        )
        await world.post(world.general, world.carol, coffee)
        await world.settled(1)
        found = await find(world.bob, {"image": coffee})
        assert "1 früherer Post gefunden" in found and "% ähnlich" in found, found


class BadGerman(app_commands.Translator):
    """Names a command the way Discord refuses: with a capital letter and a space."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if locale == discord.Locale.german and context.location.name == "command_name":
            return "Ähnliche Suchen"
        return None


async def test_the_fake_refuses_localised_names_discord_refuses(world: World) -> None:
    bot = make_bot()

    @bot.tree.command(name="findsimilar", description="Find earlier posts")
    async def findsimilar(interaction: discord.Interaction) -> None:
        raise AssertionError

    async with running_bot(world.fake, bot):
        await bot.tree.set_translator(BadGerman())
        with pytest.raises(discord.HTTPException) as refused:
            await bot.tree.sync()
        assert refused.value.status == 400 and refused.value.code == 50035
        assert "name_localizations.de" in refused.value.text
        assert world.fake.sync_count == 0
        await bot.tree.set_translator(None)
        await bot.tree.sync()
        assert world.fake.sync_count == 1


def test_discords_rules_for_a_whole_command() -> None:
    good: JSON = {
        "type": 1,
        "name": "repost",
        "description": "Settings",
        "name_localizations": {"de": "repost"},
        "options": [
            {
                "type": 1,
                "name": "watch",
                "description": "Watch a channel",
                "name_localizations": {"de": "überwachen", "fr": "surveiller"},
                "description_localizations": {"de": "Einen Kanal überwachen"},
                "options": [
                    {
                        "type": 3,
                        "name": "mode",
                        "description": "How",
                        "choices": [
                            {"name": "all", "value": "all", "name_localizations": {"de": "alle"}},
                        ],
                    },
                ],
            },
            {
                "type": 1,
                "name": "unwatch",
                "description": "Stop watching",
                "name_localizations": {"de": "überwachen"},  # the same German name twice
            },
        ],
    }
    assert command_errors(good) == ["options: option names must be unique (de)"]
    good["options"][1]["name_localizations"] = {"xx": "nicht"}
    assert command_errors(good) == ["options.1.name_localizations.xx: is not a valid locale"]
    good["options"][1]["name_localizations"] = {}
    good["options"][0]["description_localizations"] = {"de": "x" * 101}
    assert command_errors(good) == [
        "options.0.description_localizations.de: must be 1-100 characters"
    ]
    menu: JSON = {
        "type": 3,
        "name": "Find similar",
        "name_localizations": {"de": "Ähnliche finden"},
    }
    assert command_errors(menu) == []


def test_the_settings_line_names_choices_as_the_language_does() -> None:
    from bot import guide
    from bot.guild_settings import GuildSettings

    assert "alerts: reply · sensitivity: normal" in guide.settings_line(
        i18n.ENGLISH, GuildSettings()
    )
    german = guide.settings_line(i18n.texts("de"), GuildSettings(alert_style="reaction"))
    assert "Meldungen: Reaktion · Empfindlichkeit: normal" in german, german


#: Calls that put text in front of people, and the keyword arguments that carry it.
SENDS = {"send_message", "send", "reply", "edit", "set_footer", "add_field", "embed", "Embed"}
TEXT_KEYWORDS = {"content", "text", "name", "value", "title", "description", "label"}


def _words(node: ast.expr) -> str:
    """The literal words of a string or f-string expression ('' if it has none)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_words(v) for v in node.values)
    if isinstance(node, ast.BinOp):
        return _words(node.left) + _words(node.right)
    return ""


def test_no_cog_sends_words_that_bypass_the_catalogues() -> None:
    """Text shown in Discord comes from the catalogues; only markup may be written in code."""
    root = Path(__file__).parents[1]
    found = []
    for path in [*sorted((root / "cogs").glob("*.py")), root / "bot" / "client.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in SENDS:
                continue
            texts = list(node.args) + [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
            for arg in texts:
                words = _words(arg)
                if any(c.isalpha() for c in words.replace("attachment://", "")):
                    found.append(f"{path.name}:{node.lineno}: {words!r}")
    assert found == [], "words not from bot/locales: " + "; ".join(found)


def test_a_translation_that_cannot_be_formatted_is_said_in_english(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    german = i18n.Texts("de")
    broken = dict(CATALOGUES["de"].messages, **{"scan.already": "{kanal} wird schon gescannt."})
    monkeypatch.setattr(german, "_own", broken)
    assert german("scan.already", channel="#memes") == "#memes is already being scanned."
    assert "scan.already in de cannot be formatted" in caplog.text
    with pytest.raises(KeyError):
        i18n.ENGLISH("scan.already")


def test_every_edit_seenit_can_name_has_words_in_every_language() -> None:
    from bot.clips import EDIT_WORDS
    from bot.explain import ROTATED
    from bot.hashing import ORIENTATION_NAMES
    from bot.matching import VIEW_EDITS

    parts = [
        *VIEW_EDITS.values(),
        *ORIENTATION_NAMES[1:],
        *("cropped", "captioned", "inside a screenshot"),  # what the local stage says
    ]
    for locale in ("en-US", *SHIPPED):
        messages = CATALOGUES[locale].messages
        for part in parts:
            assert ROTATED.fullmatch(part) or f"edit.{i18n.slug(part)}" in messages, (locale, part)
        for edit in EDIT_WORDS:
            assert f"clip.edit.{edit}" in messages, (locale, edit)
    german = i18n.texts("de")
    assert german("edit.rotated", degrees=4) != i18n.ENGLISH("edit.rotated", degrees=4)

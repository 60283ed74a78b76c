"""The discord.py client: dependencies passed in, cogs loaded in setup_hook."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot import i18n
from bot.config import Config
from bot.fetch import Fetcher
from bot.ingest import Ingest
from bot.overrides import OverrideCache
from bot.scans import Scans
from bot.service import SeenService

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.access",
    "cogs.reposts",
    "cogs.sight",
    "cogs.alert_actions",
    "cogs.scanner",
    "cogs.onboarding",
    "cogs.search",
    "cogs.admin",
    "cogs.privacy",
    "cogs.owner",
    "cogs.help",
)
COMMAND_HASH_KEY = "synced_commands_sha256"
#: Longest wait, at shutdown, for event handlers still running (a purge, an alert) to finish
#: before the store closes under them.
HANDLERS_DRAIN_SECONDS = 10.0
#: discord.py runs each listener call as a task named after its event.
HANDLER_TASK_PREFIX = "discord.py: "

#: Errors that mean Discord could not be reached (DNS, refused or reset connections,
#: timeouts, 5xx answers), as opposed to Discord answering no.
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,  # aiohttp's connection errors (DNS failure, connection refused) are OSErrors
    aiohttp.ClientError,
    TimeoutError,
    discord.DiscordServerError,
    discord.GatewayNotFound,
)
#: Seconds before the second attempt to reach Discord at start-up; doubled up to the cap.
FIRST_RETRY = 2.0
MAX_RETRY = 60.0


def one_line(exc: BaseException) -> str:
    """An exception as one log line: its lines joined, indentation dropped."""
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class OneLineConnectErrors(logging.Filter):
    """discord.py logs a failed gateway connection with a traceback: fold it into one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], UNREACHABLE):
            record.msg = f"{record.getMessage()} ({one_line(record.exc_info[1])})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def ingest_for(config: Config, service: SeenService, fetcher: Fetcher) -> Ingest:
    """The ingest pipeline with the configured catch-up depth and departed-guild grace."""
    return Ingest(
        service,
        fetcher,
        catchup_limit=config.catchup_limit,
        guild_grace_days=config.guild_data_grace_days,
    )


def intents() -> discord.Intents:
    """Guild messages and message content: attachments arrive empty without the latter."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    wanted.guild_reactions = True
    return wanted


class SeenitTranslator(app_commands.Translator):
    """Names and descriptions of commands, options and choices from the catalogues.

    Commands are keyed by their path (``command.repost.watch.description``), options by
    command and option name, choices by value; see :mod:`bot.i18n`.
    """

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = translation_key(context)
        return None if key is None else i18n.command_text(key, locale.value)


def translation_key(context: app_commands.TranslationContextTypes) -> str | None:
    """The catalogue key of the string discord.py asks to translate."""
    field = "name" if context.location.name.endswith("_name") else "description"
    data: object = context.data
    if isinstance(data, app_commands.ContextMenu):
        return i18n.command_key("menu", data.qualified_name, field)
    if isinstance(data, app_commands.Command | app_commands.Group):
        return i18n.command_key("command", data.qualified_name, field)
    if isinstance(data, app_commands.Parameter):
        return i18n.command_key("command", data.command.qualified_name, field, data.display_name)
    if isinstance(data, app_commands.Choice):
        return i18n.choice_key(data.value)
    return None


def texts_for(interaction: discord.Interaction) -> i18n.Texts:
    """The words for the member who used a command or pressed a button (their client's language)."""
    return i18n.texts(interaction.locale.value)


class Refused(app_commands.CheckFailure):
    """A member may not use a command here; ``key`` names the catalogue text saying why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class SeenitTree(app_commands.CommandTree):
    """Answers every failed interaction, so a member is never left with "did not respond"."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        t = texts_for(interaction)
        if isinstance(error, app_commands.CommandOnCooldown):
            text = t("error.cooldown", seconds=error.retry_after)
        elif isinstance(error, Refused):
            text = t(error.key)
        elif isinstance(error, app_commands.CheckFailure):
            if interaction.response.is_done():
                return  # the check already told the member why
            text = t("error.not_here")
        else:
            log.error(
                "command %s failed",
                interaction.command.qualified_name if interaction.command else "?",
                exc_info=error,
            )
            text = t("error.internal")
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell the member about a failed command")


class SeenitBot(commands.AutoShardedBot):
    """seenit's client. Runs the shards given by SHARD_IDS, or all of them."""

    def __init__(
        self,
        *,
        config: Config,
        service: SeenService,
        fetcher: Fetcher,
        ingest: Ingest | None = None,
    ) -> None:
        # seenit never joins voice: the "PyNaCl / davey is not installed" warnings discord.py
        # logs at every start are noise for it.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        options: dict[str, Any] = {}
        if config.shard_count is not None:
            options["shard_count"] = config.shard_count
            if config.shard_ids is not None:
                options["shard_ids"] = list(config.shard_ids)
        else:
            options["shard_count"] = 1
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            help_command=None,
            tree_cls=SeenitTree,
            allowed_mentions=discord.AllowedMentions(
                everyone=False, roles=False, users=False, replied_user=False
            ),
            **options,
        )
        self.config = config
        self.service = service
        self.fetcher = fetcher
        #: The one ingest pipeline every cog hands posts to.
        self.ingest = ingest or ingest_for(config, service, fetcher)
        #: History scans (/repost scan, a new server's recent history), through the pipeline.
        self.scans = Scans(self.ingest)
        #: The servers' Integrations settings for seenit's commands (cogs/access.py).
        self.overrides = OverrideCache()

    async def close(self) -> None:
        """Disconnect, then let the event handlers already running finish (at most
        :data:`HANDLERS_DRAIN_SECONDS`): the store closes after this, and a purge or an
        alert cut off mid-way would only log an error."""
        await super().close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HANDLERS_DRAIN_SECONDS
        current = asyncio.current_task()
        while running := [
            task
            for task in asyncio.all_tasks()
            if task is not current and task.get_name().startswith(HANDLER_TASK_PREFIX)
        ]:
            if loop.time() > deadline:
                log.warning(
                    "closing with %d event handlers still running: %s",
                    len(running),
                    ", ".join(sorted({t.get_name()[len(HANDLER_TASK_PREFIX) :] for t in running})),
                )
                return
            await asyncio.wait(running, timeout=deadline - loop.time())

    async def setup_hook(self) -> None:
        await self.tree.set_translator(SeenitTranslator())
        for extension in EXTENSIONS:
            if extension not in self.extensions:
                await self.load_extension(extension)
        try:
            await self.sync_commands(force=False)
        except discord.HTTPException as exc:
            if exc.status >= 500:
                log.warning(
                    "could not sync application commands (%s); retrying at the next start",
                    one_line(exc),
                )
            else:
                # Alerts need no commands: keep running and try again at the next start.
                log.error(
                    "Discord rejected the application commands, so they keep their previous"
                    " definitions until the next start (alerts still work): %s",
                    one_line(exc),
                )
        except UNREACHABLE as exc:
            log.warning(
                "could not sync application commands (%s); retrying at the next start",
                one_line(exc),
            )

    async def login_patiently(self, token: str) -> None:
        """Log in, retrying with backoff while Discord cannot be reached.

        Each failed attempt is one log line. A refused token raises ``LoginFailure`` at once.
        """
        delay = FIRST_RETRY
        attempt = 1
        while True:
            try:
                await self.login(token)
                return
            except UNREACHABLE as exc:
                log.warning(
                    "cannot reach Discord (attempt %d: %s); retrying in %.0f s",
                    attempt,
                    one_line(exc),
                    delay,
                )
            # Every attempt opens a new HTTP session (and, unless given one, a new connection
            # pool): close the failed ones.
            await self.http.close()
            self.http.connector = discord.utils.MISSING
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY)
            attempt += 1

    async def start_patiently(self, token: str) -> None:
        """``start``, but waiting out a Discord that cannot be reached at start-up."""
        await self.login_patiently(token)
        await self.connect(reconnect=True)

    async def command_payload(self) -> list[dict[str, Any]]:
        """The application commands as synced: with their translations when a translator is set."""
        translator = self.tree.translator
        commands = self.tree.get_commands()
        if translator is None:
            return [c.to_dict(self.tree) for c in commands]
        return [await c.get_translated_payload(self.tree, translator) for c in commands]

    async def command_payload_hash(self) -> str:
        payload = await self.command_payload()
        text = json.dumps(sorted(payload, key=lambda c: (c["type"], c["name"])), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    async def sync_commands(self, *, force: bool) -> bool:
        """Sync application commands when their definitions changed (or when forced)."""
        digest = await self.command_payload_hash()
        if not force and await self.service.get_meta(COMMAND_HASH_KEY) == digest:
            log.info("application commands unchanged; not syncing")
            return False
        synced = await self.tree.sync()
        await self.service.set_meta(COMMAND_HASH_KEY, digest)
        log.info("synced %d application commands", len(synced))
        return True

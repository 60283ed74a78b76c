"""The discord.py client: dependencies passed in, cogs loaded in setup_hook."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Config
from bot.fetch import Fetcher
from bot.service import SeenService

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.access",
    "cogs.reposts",
    "cogs.alert_actions",
    "cogs.scanner",
    "cogs.search",
    "cogs.admin",
    "cogs.privacy",
    "cogs.owner",
    "cogs.help",
)
COMMAND_HASH_KEY = "synced_commands_sha256"


def intents() -> discord.Intents:
    """Guild messages and message content: attachments arrive empty without the latter."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    wanted.guild_reactions = True
    return wanted


class SeenitTree(app_commands.CommandTree):
    """Answers every failed interaction, so a member is never left with "did not respond"."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.CommandOnCooldown):
            text = f"Slow down: try again in {error.retry_after:.0f} s."
        elif isinstance(error, app_commands.CheckFailure):
            if interaction.response.is_done():
                return  # the check already told the member why
            text = "You cannot use this command here."
        else:
            log.error(
                "command %s failed",
                interaction.command.qualified_name if interaction.command else "?",
                exc_info=error,
            )
            text = "Something went wrong on my side; it has been logged."
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell the member about a failed command")


class SeenitBot(commands.AutoShardedBot):
    """seenit's client. Runs the shards given by SHARD_IDS, or all of them."""

    def __init__(self, *, config: Config, service: SeenService, fetcher: Fetcher) -> None:
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

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands(force=False)

    def command_payload_hash(self) -> str:
        payload = [c.to_dict(self.tree) for c in self.tree.get_commands()]
        text = json.dumps(sorted(payload, key=lambda c: (c["type"], c["name"])), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    async def sync_commands(self, *, force: bool) -> bool:
        """Sync application commands when their definitions changed (or when forced)."""
        digest = self.command_payload_hash()
        if not force and await self.service.store.get_meta(COMMAND_HASH_KEY) == digest:
            log.info("application commands unchanged; not syncing")
            return False
        synced = await self.tree.sync()
        await self.service.store.set_meta(COMMAND_HASH_KEY, digest)
        log.info("synced %d application commands", len(synced))
        return True

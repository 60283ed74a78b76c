"""History scans: index a channel's earlier images, with a live progress message.

A scan's state is saved as it goes, so a restart resumes it where it stopped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import asdict, dataclass, replace

import discord
from discord.ext import commands

from bot.render import scan_progress
from cogs._discord import bot_of, guild_texts

log = logging.getLogger(__name__)

SCANS_KEY = "scans_in_progress"
#: The progress message is edited at most this often.
PROGRESS_EVERY = 3.0
#: State is saved after this many messages.
SAVE_EVERY = 100


@dataclass(frozen=True, slots=True)
class ScanState:
    """Where a scan is: enough to resume it after a restart."""

    guild_id: int
    channel_id: int
    limit: int
    progress_channel_id: int
    progress_message_id: int
    #: Oldest message read so far; the scan continues before it.
    before: int | None = None
    read: int = 0
    indexed: int = 0
    reposts: int = 0
    #: Seconds spent scanning before the current run.
    elapsed: float = 0.0


class Scanner(commands.Cog):
    """Runs history scans, one per channel at a time."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot_of(bot)
        self.service = self.bot.service
        self._running: dict[int, asyncio.Task[None]] = {}
        self._resumed = False

    def is_scanning(self, channel_id: int) -> bool:
        return channel_id in self._running

    async def cog_unload(self) -> None:
        for task in self._running.values():
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _states(self) -> dict[int, ScanState]:
        raw = await self.service.store.get_meta(SCANS_KEY)
        if not raw:
            return {}
        return {int(k): ScanState(**v) for k, v in json.loads(raw).items()}

    async def _save(self, state: ScanState | None, channel_id: int) -> None:
        states = await self._states()
        if state is None:
            states.pop(channel_id, None)
        else:
            states[channel_id] = state
        await self.service.store.set_meta(
            SCANS_KEY, json.dumps({str(k): asdict(v) for k, v in states.items()})
        )

    async def start(
        self, channel: discord.TextChannel | discord.Thread, limit: int, progress: discord.Message
    ) -> None:
        """Start scanning a channel; progress goes to ``progress`` (a message the bot sent)."""
        state = ScanState(
            guild_id=channel.guild.id,
            channel_id=channel.id,
            limit=limit,
            progress_channel_id=progress.channel.id,
            progress_message_id=progress.id,
        )
        await self._save(state, channel.id)
        self._launch(channel, state)

    def _launch(self, channel: discord.TextChannel | discord.Thread, state: ScanState) -> None:
        task = asyncio.create_task(self._run(channel, state), name=f"scan-{channel.id}")
        self._running[channel.id] = task
        task.add_done_callback(lambda _: self._running.pop(channel.id, None))

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self._resumed:
            return
        self._resumed = True
        for channel_id, state in (await self._states()).items():
            channel = self.bot.get_channel(channel_id)
            if isinstance(channel, discord.TextChannel | discord.Thread):
                log.info(
                    "resuming the scan of channel %d after %d messages", channel_id, state.read
                )
                self._launch(channel, state)
            else:
                await self._save(None, channel_id)

    async def _run(self, channel: discord.TextChannel | discord.Thread, state: ScanState) -> None:
        reposts_cog = self.bot.get_cog("Reposts")
        progress = self.bot.get_partial_messageable(state.progress_channel_id).get_partial_message(
            state.progress_message_id
        )
        started = time.monotonic()
        last_edit = 0.0

        def elapsed() -> float:
            return state.elapsed + time.monotonic() - started

        async def show(finished: bool) -> None:
            text = scan_progress(
                state.channel_id,
                read=state.read,
                indexed=state.indexed,
                reposts=state.reposts,
                limit=state.limit,
                elapsed=elapsed(),
                finished=finished,
                t=guild_texts(channel.guild),
            )
            try:
                await progress.edit(content=text)
            except discord.HTTPException as exc:
                log.info("could not update scan progress: %s", exc)

        try:
            before = discord.Object(id=state.before) if state.before else None
            async for message in channel.history(limit=state.limit - state.read, before=before):
                outcomes = await reposts_cog.ingest(message, alert=False)  # type: ignore[union-attr]
                state = replace(
                    state,
                    before=message.id,
                    read=state.read + 1,
                    indexed=state.indexed + sum(1 for o in outcomes if o.stored is not None),
                    reposts=state.reposts + sum(1 for o in outcomes if o.alert),
                )
                if state.read % SAVE_EVERY == 0:
                    await self._save(replace(state, elapsed=elapsed()), state.channel_id)
                if time.monotonic() - last_edit >= PROGRESS_EVERY:
                    last_edit = time.monotonic()
                    await show(finished=False)
        except asyncio.CancelledError:
            await self._save(replace(state, elapsed=elapsed()), state.channel_id)
            raise
        except discord.HTTPException as exc:
            log.warning("scan of channel %d stopped: %s", state.channel_id, exc)
        await self._save(None, state.channel_id)
        await show(finished=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Scanner(bot))

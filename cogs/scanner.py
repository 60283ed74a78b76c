"""History scans: index a channel's earlier images, with a live progress message.

A scan's state is saved as it goes, so a restart resumes it where it stopped. A scan may
carry a queue of further channels, scanned one after another with the same limits and
progress message (how a newly joined server's recent history is indexed).
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
from cogs._posts import post_of

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
    #: The message showing the progress (None: the scan runs without one).
    progress_channel_id: int | None
    progress_message_id: int | None
    #: Oldest message read so far; the scan continues before it.
    before: int | None = None
    read: int = 0
    indexed: int = 0
    reposts: int = 0
    #: Images stored before local features existed that got them in this scan.
    refreshed: int = 0
    #: Seconds spent scanning before the current run.
    elapsed: float = 0.0
    #: Messages at or before this id are not read (a time limit, as a snowflake).
    after: int | None = None
    #: Channels scanned next, one after another, with the same limits and progress message.
    queue: tuple[int, ...] = ()
    #: What the channels scanned before this one read and indexed (for the final summary).
    done_read: int = 0
    done_indexed: int = 0
    #: "scan" (/repost scan) or "onboard" (a newly joined server); words its progress.
    kind: str = "scan"
    #: Onboarding: how many days back it reads (for its progress line).
    days: int = 0


def _parse_states(raw: str | None) -> dict[int, ScanState]:
    if not raw:
        return {}
    states = {}
    for key, value in json.loads(raw).items():
        value["queue"] = tuple(value.get("queue", ()))
        states[int(key)] = ScanState(**value)
    return states


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
        return _parse_states(await self.service.get_meta(SCANS_KEY))

    async def _save(self, state: ScanState | None, channel_id: int) -> None:
        """Save (or, with None, drop) one channel's scan state, atomically: scans of other
        channels save theirs at the same time."""

        def update(raw: str | None) -> str:
            states = _parse_states(raw)
            if state is None:
                states.pop(channel_id, None)
            else:
                states[channel_id] = state
            return json.dumps({str(k): asdict(v) for k, v in states.items()})

        await self.service.update_meta(SCANS_KEY, update)

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

    async def start_many(
        self,
        channels: list[discord.TextChannel | discord.Thread],
        *,
        limit: int,
        after: int | None,
        days: int,
        progress: discord.Message | None,
    ) -> None:
        """Index several channels one after another, newest first, ``limit`` messages each
        and none at or before ``after``; without alerts, resumed after a restart."""
        if not channels:
            return
        first, rest = channels[0], channels[1:]
        state = ScanState(
            guild_id=first.guild.id,
            channel_id=first.id,
            limit=limit,
            progress_channel_id=progress.channel.id if progress else None,
            progress_message_id=progress.id if progress else None,
            after=after,
            queue=tuple(c.id for c in rest),
            kind="onboard",
            days=days,
        )
        await self._save(state, first.id)
        self._launch(first, state)

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
                await self._next(state)

    async def _next(self, state: ScanState) -> bool:
        """Start the next channel of a scan's queue (skipping gone ones); False when none."""
        queue = state.queue
        while queue:
            channel = self.bot.get_channel(queue[0])
            queue = queue[1:]
            if not isinstance(channel, discord.TextChannel | discord.Thread):
                continue
            following = replace(
                state,
                channel_id=channel.id,
                before=None,
                read=0,
                indexed=0,
                reposts=0,
                queue=queue,
                done_read=state.done_read + state.read,
                done_indexed=state.done_indexed + state.indexed,
            )
            await self._save(following, channel.id)
            self._launch(channel, following)
            return True
        return False

    def _progress_text(self, state: ScanState, elapsed: float, finished: bool) -> str:
        if state.kind != "onboard":
            return scan_progress(
                state.channel_id,
                read=state.read,
                indexed=state.indexed,
                reposts=state.reposts,
                refreshed=state.refreshed,
                limit=state.limit,
                elapsed=elapsed,
                finished=finished,
                t=guild_texts(self.bot.get_guild(state.guild_id)),
            )
        t = guild_texts(self.bot.get_guild(state.guild_id))
        if finished:
            return t(
                "onboard.done",
                days=state.days,
                messages=t("noun.message", count=state.done_read + state.read),
                images=t("noun.image", count=state.done_indexed + state.indexed),
            )
        current = scan_progress(
            state.channel_id,
            read=state.read,
            indexed=state.indexed,
            reposts=state.reposts,
            limit=state.limit,
            elapsed=elapsed,
            finished=False,
            t=guild_texts(self.bot.get_guild(state.guild_id)),
        )
        return t("onboard.progress", days=state.days, channel_progress=current)

    async def _run(self, channel: discord.TextChannel | discord.Thread, state: ScanState) -> None:
        progress = (
            self.bot.get_partial_messageable(state.progress_channel_id).get_partial_message(
                state.progress_message_id
            )
            if state.progress_channel_id is not None and state.progress_message_id is not None
            else None
        )
        started = time.monotonic()
        last_edit = 0.0

        def elapsed() -> float:
            return state.elapsed + time.monotonic() - started

        async def show(finished: bool) -> None:
            if progress is None:
                return
            try:
                await progress.edit(content=self._progress_text(state, elapsed(), finished))
            except discord.HTTPException as exc:
                log.info("could not update scan progress: %s", exc)

        try:
            before = discord.Object(id=state.before) if state.before else None
            async for message in channel.history(
                limit=state.limit - state.read, before=before, oldest_first=False
            ):
                if state.after is not None and message.id <= state.after:
                    break  # newest first: everything from here on is older than the cut-off
                post = post_of(message, self.bot.user)
                # A scan counts the reposts it finds, crops too; onboarding only indexes.
                outcomes = (
                    await self.bot.ingest.ingest(post, local_stage=state.kind != "onboard")
                    if post is not None
                    else []
                )
                state = replace(
                    state,
                    before=message.id,
                    read=state.read + 1,
                    indexed=state.indexed + sum(1 for o in outcomes if o.stored is not None),
                    reposts=state.reposts + sum(1 for o in outcomes if o.alert),
                    refreshed=state.refreshed + sum(1 for o in outcomes if o.refreshed),
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
        if await self._next(replace(state, elapsed=elapsed())):
            return
        await show(finished=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Scanner(bot))

"""History scans: a channel's earlier posts read through the ingest pipeline, newest first.

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
from typing import Protocol

from bot.ingest import Channel, HistoryUnavailable, Ingest, Post

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


def parse_states(raw: str | None) -> dict[int, ScanState]:
    if not raw:
        return {}
    states = {}
    for key, value in json.loads(raw).items():
        value["queue"] = tuple(value.get("queue", ()))
        states[int(key)] = ScanState(**value)
    return states


class ScanPlace(Protocol):
    """Where scans happen: the channels to read and the message showing their progress."""

    def channel(self, guild_id: int, channel_id: int) -> Channel | None: ...

    async def show(self, state: ScanState, elapsed: float, *, finished: bool) -> None: ...


class Scans:
    """Runs history scans, one per channel at a time."""

    def __init__(self, ingest: Ingest) -> None:
        self.ingest = ingest
        self.service = ingest.service
        self._running: dict[int, asyncio.Task[None]] = {}

    def is_scanning(self, channel_id: int) -> bool:
        return channel_id in self._running

    async def stop(self) -> None:
        """Stop every scan (its state is saved: the next start resumes it)."""
        for task in self._running.values():
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def states(self) -> dict[int, ScanState]:
        return parse_states(await self.service.get_meta(SCANS_KEY))

    async def save(self, state: ScanState | None, channel_id: int) -> None:
        """Save (or, with None, drop) one channel's scan state, atomically: scans of other
        channels save theirs at the same time."""

        def update(raw: str | None) -> str:
            states = parse_states(raw)
            if state is None:
                states.pop(channel_id, None)
            else:
                states[channel_id] = state
            return json.dumps({str(k): asdict(v) for k, v in states.items()})

        await self.service.update_meta(SCANS_KEY, update)

    async def start(self, channel: Channel, state: ScanState, place: ScanPlace) -> None:
        """Save a new scan's state and start it."""
        await self.save(state, channel.id)
        self.launch(channel, state, place)

    async def resume(self, place: ScanPlace) -> None:
        """Go on with the scans a restart interrupted (their channels gone: the next ones)."""
        for channel_id, state in (await self.states()).items():
            channel = place.channel(state.guild_id, channel_id)
            if channel is not None:
                log.info(
                    "resuming the scan of channel %d after %d messages", channel_id, state.read
                )
                self.launch(channel, state, place)
            else:
                await self.save(None, channel_id)
                await self._next(state, place)

    def launch(self, channel: Channel, state: ScanState, place: ScanPlace) -> None:
        task = asyncio.create_task(self._run(channel, state, place), name=f"scan-{channel.id}")
        self._running[channel.id] = task
        task.add_done_callback(lambda _: self._running.pop(channel.id, None))

    async def _next(self, state: ScanState, place: ScanPlace) -> bool:
        """Start the next channel of a scan's queue (skipping gone ones); False when none."""
        queue = state.queue
        while queue:
            channel = place.channel(state.guild_id, queue[0])
            queue = queue[1:]
            if channel is None:
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
            await self.start(channel, following, place)
            return True
        return False

    async def _run(self, channel: Channel, state: ScanState, place: ScanPlace) -> None:
        started = time.monotonic()
        last_edit = 0.0

        def elapsed() -> float:
            return state.elapsed + time.monotonic() - started

        try:
            async for post in channel.history(
                limit=state.limit - state.read, before=state.before, oldest_first=False
            ):
                if state.after is not None and post.message_id <= state.after:
                    break  # newest first: everything from here on is older than the cut-off
                state = await self._read(state, post)
                if state.read % SAVE_EVERY == 0:
                    await self.save(replace(state, elapsed=elapsed()), state.channel_id)
                if time.monotonic() - last_edit >= PROGRESS_EVERY:
                    last_edit = time.monotonic()
                    await place.show(state, elapsed(), finished=False)
        except asyncio.CancelledError:
            await self.save(replace(state, elapsed=elapsed()), state.channel_id)
            raise
        except HistoryUnavailable as exc:
            log.warning("scan of channel %d stopped: %s", state.channel_id, exc)
        await self.save(None, state.channel_id)
        if await self._next(replace(state, elapsed=elapsed()), place):
            return
        await place.show(state, elapsed(), finished=True)

    async def _read(self, state: ScanState, post: Post) -> ScanState:
        """Index one post of the scanned channel; the state after it."""
        # A scan counts the reposts it finds, crops too; onboarding only indexes.
        outcomes = await self.ingest.ingest(post, local_stage=state.kind != "onboard")
        return replace(
            state,
            before=post.message_id,
            read=state.read + 1,
            indexed=state.indexed + sum(1 for o in outcomes if o.stored is not None),
            reposts=state.reposts + sum(1 for o in outcomes if o.alert),
            refreshed=state.refreshed + sum(1 for o in outcomes if o.refreshed),
        )

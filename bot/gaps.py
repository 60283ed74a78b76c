"""Where seenit may have missed deletions, and checking a post still exists before showing it.

Discord tells a bot about deleted messages only while it is connected and can read the
channel. After a new gateway session (seenit was down, or its session could not be resumed)
any older message may have been deleted meanwhile, and so may any message of a channel seenit
could not read for a while. Such messages are checked once, when they are about to be shown;
what is gone is forgotten and the next match takes its place. Messages posted, or checked,
since the gap are trusted: their deletions arrive as events.

Pure: message and channel ids are snowflakes (ints that grow with time); no discord.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from bot.matching import Match

#: Answers of ``exists``: the message is there, it is gone, or it could not be told.
Exists = Callable[[int, int], Awaitable[bool | None]]


class Gaps:
    """Which stored messages may be gone without seenit having been told."""

    def __init__(self) -> None:
        #: Messages older than this, in any channel, may have been deleted unseen.
        self._everywhere = 0
        #: Per channel: older messages may have been deleted while it was out of sight.
        self._channels: dict[int, int] = {}
        #: Channels seenit cannot read right now: nothing of them can be confirmed.
        self._blind: set[int] = set()
        #: Per channel: messages confirmed to exist since the channel's last gap.
        self._confirmed: dict[int, set[int]] = {}

    def session_started(self, now: int) -> None:
        """A new gateway session: deletions before ``now`` (a snowflake) may have been missed."""
        self._everywhere = max(self._everywhere, now)
        self._confirmed.clear()

    def lost_sight(self, channel_id: int) -> None:
        """seenit can no longer read the channel: from now on it hears of no deletions there."""
        self._blind.add(channel_id)
        self._confirmed.pop(channel_id, None)

    def regained_sight(self, channel_id: int, now: int) -> bool:
        """seenit can read the channel again; True when it had lost sight of it."""
        if channel_id not in self._blind:
            return False
        self._blind.discard(channel_id)
        self._channels[channel_id] = max(self._channels.get(channel_id, 0), now)
        self._confirmed.pop(channel_id, None)
        return True

    def is_blind(self, channel_id: int) -> bool:
        return channel_id in self._blind

    def unsure(self, channel_id: int, message_id: int) -> bool:
        """Whether the message may have been deleted without seenit being told."""
        if channel_id in self._blind:
            return True
        if message_id in self._confirmed.get(channel_id, ()):
            return False
        return message_id < max(self._everywhere, self._channels.get(channel_id, 0))

    def confirm(self, channel_id: int, message_id: int) -> None:
        """The message was seen to exist after the gap."""
        self._confirmed.setdefault(channel_id, set()).add(message_id)


async def _ask(gaps: Gaps, exists: Exists, channel_id: int, message_id: int) -> bool | None:
    # A channel out of sight cannot be asked about: no request, no answer.
    return None if gaps.is_blind(channel_id) else await exists(channel_id, message_id)


async def still_there(
    matches: Sequence[Match],
    shown: Callable[[list[Match]], Sequence[Match]],
    gaps: Gaps,
    exists: Exists,
) -> tuple[list[Match], list[int]]:
    """Check the matches about to be shown that fall in a gap; drop those that are gone.

    ``shown`` picks, from the current list, the matches that would be shown; only those are
    checked, so a post with no gap costs nothing. When one is dropped the next takes its
    place and is checked in turn. Returns the matches kept and the ids of messages found
    deleted (for the caller to forget). A message that cannot be checked is left out of this
    answer but not forgotten.
    """
    kept = list(matches)
    gone: list[int] = []
    asked: set[int] = set()
    while True:
        todo = sorted(
            {
                (m.image.channel_id, m.image.message_id)
                for m in shown(kept)
                if m.image.message_id not in asked
                and gaps.unsure(m.image.channel_id, m.image.message_id)
            }
        )
        if not todo:
            return kept, gone
        asked.update(message_id for _, message_id in todo)
        answers = await asyncio.gather(*(_ask(gaps, exists, c, mid) for c, mid in todo))
        dropped = set()
        for (channel_id, message_id), answer in zip(todo, answers, strict=True):
            if answer:
                gaps.confirm(channel_id, message_id)
                continue
            dropped.add(message_id)
            if answer is False:
                gone.append(message_id)
        kept = [m for m in kept if m.image.message_id not in dropped]

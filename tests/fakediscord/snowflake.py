"""Snowflake ids and timestamps, generated the way Discord does.

A snowflake carries its creation time in its top bits (milliseconds since the
Discord epoch, shifted left by 22), so ids generated later compare greater.
"""

from __future__ import annotations

import datetime
import time

DISCORD_EPOCH_MS = 1420070400000


class SnowflakeFactory:
    """Hands out strictly increasing snowflakes derived from the wall clock."""

    def __init__(self) -> None:
        self._last = 0
        self._past = 0

    def next(self) -> int:
        """Return a new snowflake, greater than every one returned before."""
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate

    def at(self, moment: datetime.datetime) -> int:
        """A new snowflake carrying a past ``moment`` (for history posted before a test)."""
        self._past += 1
        ms = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (self._past & ((1 << 22) - 1))


def snowflake_time(snowflake: int) -> datetime.datetime:
    """The UTC creation time encoded in ``snowflake``."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)


def iso_timestamp(snowflake: int | None = None) -> str:
    """ISO-8601 timestamp for a snowflake's creation time (or now)."""
    if snowflake is None:
        moment = datetime.datetime.now(tz=datetime.UTC)
    else:
        moment = snowflake_time(snowflake)
    return moment.isoformat()


def now_iso() -> str:
    """The current UTC time as an ISO-8601 string."""
    return iso_timestamp(None)

"""Per-guild settings: typed, with defaults that make a fresh install work with no setup."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

WatchMode = Literal["all", "listed"]
Sensitivity = Literal["strict", "normal", "loose"]
AlertStyle = Literal["reply", "reaction", "log", "silent"]
Scope = Literal["guild", "channel"]
Templates = Literal["alert", "ignore"]


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """How seenit behaves in one guild."""

    #: "all": every readable channel except the unwatched ones; "listed": only watched ones.
    watch_mode: WatchMode = "all"
    #: Channels or categories watched in "listed" mode.
    watched: frozenset[int] = field(default_factory=frozenset)
    #: Channels or categories never watched in "all" mode.
    unwatched: frozenset[int] = field(default_factory=frozenset)
    sensitivity: Sensitivity = "normal"
    #: Expert override of the 256-bit distance threshold; None follows the sensitivity.
    threshold: int | None = None
    alert_style: AlertStyle = "reply"
    log_channel_id: int | None = None
    #: Delete reposts (only done when the bot has Manage Messages).
    delete_reposts: bool = False
    #: Ping the author in the alert reply.
    mention_author: bool = False
    exempt_roles: frozenset[int] = field(default_factory=frozenset)
    exempt_users: frozenset[int] = field(default_factory=frozenset)
    #: "guild": match across all channels; "channel": only within the same channel.
    scope: Scope = "guild"
    #: Ignore matches older than this many days; None keeps all.
    max_age_days: int | None = None
    #: Do not alert when the only earlier posts are the author's own.
    ignore_own_posts: bool = True
    #: Delete seenit's alert when the repost it answered is deleted.
    delete_alert_with_message: bool = True
    #: Ignore images posted by bots.
    ignore_bots: bool = True
    #: Attach a side-by-side comparison picture to alerts.
    alert_pictures: bool = False
    #: The same picture under a different caption (a meme template reused): "ignore" raises
    #: no alert, "alert" treats it as a repost.
    templates: Templates = "ignore"
    #: Roles whose members may use the admin commands and the moderator buttons.
    moderator_roles: frozenset[int] = field(default_factory=frozenset)
    #: With deletion on, only reposts this close (256-bit distance) are deleted; looser ones
    #: only get an alert. None: the strict preset's distance.
    delete_threshold: int | None = None

    def is_watched(self, channel_id: int, parent_ids: tuple[int, ...] = ()) -> bool:
        """Whether a channel (with its parent thread channel / category ids) is watched."""
        chain = {channel_id, *parent_ids}
        if self.watch_mode == "listed":
            return bool(chain & self.watched)
        return not (chain & self.unwatched)

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        for key, value in data.items():
            if isinstance(value, frozenset):
                data[key] = sorted(value)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GuildSettings:
        """Parse stored settings; unknown keys are dropped, missing keys take defaults."""
        raw = json.loads(text)
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        defaults = cls()
        for key, value in raw.items():
            if key not in known:
                continue
            if isinstance(getattr(defaults, key), frozenset):
                value = frozenset(int(v) for v in value)
            values[key] = value
        return replace(defaults, **values)

"""Plain records kept by the fake: HTTP requests, injected faults, command syncs."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from .messages import UploadedFile
from .state import JSON


@dataclass
class RecordedRequest:
    """One HTTP request the fake received (REST or CDN)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    #: aiohttp route pattern that matched, e.g. ``/api/v10/channels/{channel_id}/messages``;
    #: None for unknown routes
    route: str | None = None
    status: int | None = None
    fault: bool = False

    @property
    def known(self) -> bool:
        return self.route is not None


@dataclass
class Fault:
    """A canned failure for the next ``remaining`` requests matching method + path glob."""

    method: str
    pattern: str
    remaining: int
    status: int | None = 429
    retry_after: float = 0.05
    is_global: bool = False
    delay: float = 0.0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and fnmatch.fnmatchcase(path, self.pattern)


@dataclass
class CommandSync:
    """One bulk overwrite of application commands (``tree.sync()``)."""

    guild_id: int | None
    commands: list[JSON] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [c["name"] for c in self.commands]


def normalize_pattern(pattern: str) -> str:
    if pattern.startswith(("/api/", "/attachments/", "/media/", "*")):
        return pattern
    return "/api/v10" + (pattern if pattern.startswith("/") else "/" + pattern)

"""Message storage, attachments (served by the fake CDN) and reactions.

Messages are kept as the JSON dicts Discord would return. The dicts in the
store are *live*: edits and reactions update them in place, so a test holding
one sees later changes. Payloads that leave the fake (REST bodies, gateway
events) are deep copies.
"""

from __future__ import annotations

import copy
import io
import mimetypes
import re
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .state import JSON

T = TypeVar("T")

MENTION_USER_RE = re.compile(r"<@!?(\d+)>")
MENTION_ROLE_RE = re.compile(r"<@&(\d+)>")

# Message flags
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

# Message types
TYPE_DEFAULT = 0
TYPE_REPLY = 19
TYPE_CHAT_INPUT_COMMAND = 20
TYPE_CONTEXT_MENU_COMMAND = 23


@dataclass
class UploadedFile:
    """A file received in a multipart request (``files[n]`` part)."""

    field: str
    filename: str
    content_type: str | None
    data: bytes


@dataclass
class Blob:
    """Bytes behind an attachment URL on the fake CDN."""

    filename: str
    content_type: str | None
    data: bytes


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) when ``data`` is an image Pillow can read, else None."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            return int(width), int(height)
    except Exception:
        return None


def guess_content_type(filename: str, data: bytes) -> str | None:
    """Content type from the file name, falling back to sniffing the image format."""
    guessed, _ = mimetypes.guess_type(filename)
    if guessed:
        return guessed
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            if img.format:
                return Image.MIME.get(img.format) or f"image/{img.format.lower()}"
    except Exception:
        return None
    return None


def emoji_payload(key: str) -> JSON:
    """Reaction emoji object for a URL emoji key (``"👍"`` or ``"name:id"``)."""
    if ":" in key:
        name, _, emoji_id = key.rpartition(":")
        animated = name.startswith("a:")
        return {"id": emoji_id, "name": name.removeprefix("a:"), "animated": animated}
    return {"id": None, "name": key}


def normalize_emoji(emoji: str) -> str:
    """Canonical reaction key: strips ``<:name:id>`` brackets, keeps unicode as is."""
    emoji = emoji.strip()
    if emoji.startswith("<") and emoji.endswith(">"):
        emoji = emoji[1:-1]
    return emoji.removeprefix(":")


@dataclass
class MessageStore:
    """All messages of the fake, by id and by channel (oldest first)."""

    by_id: dict[int, JSON] = field(default_factory=dict)
    by_channel: dict[int, list[JSON]] = field(default_factory=dict)
    deleted: list[JSON] = field(default_factory=list)
    blobs: dict[int, Blob] = field(default_factory=dict)
    #: message id -> emoji key -> user ids who reacted, in order
    reactions: dict[int, dict[str, list[int]]] = field(default_factory=dict)

    def add(self, message: JSON, *, in_channel: bool = True) -> None:
        """Store a message; ``in_channel=False`` keeps it out of channel history (ephemeral)."""
        mid = int(message["id"])
        self.by_id[mid] = message
        if in_channel:
            self.by_channel.setdefault(int(message["channel_id"]), []).append(message)

    def get(self, message_id: int, channel_id: int | None = None) -> JSON | None:
        msg = self.by_id.get(message_id)
        if msg is None:
            return None
        if channel_id is not None and int(msg["channel_id"]) != channel_id:
            return None
        return msg

    def in_channel(self, channel_id: int) -> list[JSON]:
        return list(self.by_channel.get(channel_id, []))

    def remove(self, message_id: int) -> JSON | None:
        msg = self.by_id.pop(message_id, None)
        if msg is None:
            return None
        channel = self.by_channel.get(int(msg["channel_id"]), [])
        self.by_channel[int(msg["channel_id"])] = [m for m in channel if m is not msg]
        self.deleted.append(msg)
        self.reactions.pop(message_id, None)
        return msg

    def remove_channel(self, channel_id: int) -> None:
        for msg in self.by_channel.pop(channel_id, []):
            self.by_id.pop(int(msg["id"]), None)

    def history(
        self,
        channel_id: int,
        *,
        limit: int = 50,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
    ) -> list[JSON]:
        """Messages like ``GET /channels/{id}/messages``: newest first, at most ``limit``."""
        limit = max(1, min(limit, 100))
        msgs = sorted(self.by_channel.get(channel_id, []), key=lambda m: int(m["id"]))
        if around is not None:
            older = [m for m in msgs if int(m["id"]) < around][::-1][: limit // 2]
            center = [m for m in msgs if int(m["id"]) == around]
            newer_count = limit - len(older) - len(center)
            newer = [m for m in msgs if int(m["id"]) > around][:newer_count]
            return (older[::-1] + center + newer)[::-1]
        if after is not None:
            picked = [m for m in msgs if int(m["id"]) > after][:limit]
            return picked[::-1]
        if before is not None:
            msgs = [m for m in msgs if int(m["id"]) < before]
        return msgs[::-1][:limit]

    def add_reaction(self, message_id: int, emoji: str, user_id: int) -> bool:
        """Record a reaction; False when that user already reacted with that emoji."""
        users = self.reactions.setdefault(message_id, {}).setdefault(emoji, [])
        if user_id in users:
            return False
        users.append(user_id)
        return True

    def remove_reaction(self, message_id: int, emoji: str | None, user_id: int | None) -> None:
        """Remove one user's reaction, all users' for one emoji, or everything."""
        per_message = self.reactions.get(message_id, {})
        if emoji is None:
            per_message.clear()
            return
        users = per_message.get(emoji, [])
        if user_id is None:
            users.clear()
        elif user_id in users:
            users.remove(user_id)
        if not users:
            per_message.pop(emoji, None)

    def render_reactions(self, message_id: int, me_id: int) -> None:
        """Refresh the live message's ``reactions`` field from the reaction table."""
        msg = self.by_id.get(message_id)
        if msg is None:
            return
        rendered = [
            {
                "emoji": emoji_payload(key),
                "count": len(users),
                "count_details": {"normal": len(users), "burst": 0},
                "me": me_id in users,
                "me_burst": False,
                "burst_colors": [],
                "burst_count": 0,
            }
            for key, users in self.reactions.get(message_id, {}).items()
            if users
        ]
        if rendered:
            msg["reactions"] = rendered
        else:
            msg.pop("reactions", None)


def strip_content(message: JSON) -> JSON:
    """What a bot without the MESSAGE_CONTENT intent sees of someone else's message."""
    stripped = copy.deepcopy(message)
    stripped["content"] = ""
    stripped["embeds"] = []
    stripped["attachments"] = []
    stripped["components"] = []
    stripped.pop("poll", None)
    return stripped


def public_copy(value: T) -> T:
    """Deep copy of a message (or list of them) suitable to send out."""
    return copy.deepcopy(value)


def mentioned_user_ids(content: str) -> list[int]:
    """User ids mentioned as ``<@id>`` / ``<@!id>`` in message content, in order, unique."""
    seen: list[int] = []
    for match in MENTION_USER_RE.finditer(content or ""):
        uid = int(match.group(1))
        if uid not in seen:
            seen.append(uid)
    return seen


def mentioned_role_ids(content: str) -> list[int]:
    """Role ids mentioned as ``<@&id>``."""
    return list(dict.fromkeys(int(m.group(1)) for m in MENTION_ROLE_RE.finditer(content or "")))


def as_message_id(message: Any) -> int:
    """Message id from a message dict, a discord.py Message, or an int."""
    if isinstance(message, int):
        return message
    if isinstance(message, dict):
        return int(message["id"])
    return int(message.id)

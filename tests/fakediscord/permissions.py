"""Permission bits and Discord's permission-resolution algorithm.

See https://discord.com/developers/docs/topics/permissions#permission-overwrites:
base permissions come from @everyone plus the member's roles (administrator or
guild ownership grant everything); channel overwrites are then applied in the
order @everyone, role overwrites (combined), member overwrite.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_AUDIT_LOG = 1 << 7
PRIORITY_SPEAKER = 1 << 8
STREAM = 1 << 9
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
SEND_TTS_MESSAGES = 1 << 12
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38

#: Every permission bit discord.py 2.7 knows about (``discord.Permissions.all().value``).
ALL_PERMISSIONS = 8866461766385663

#: What @everyone gets in a freshly created guild (a reasonable subset of Discord's default).
DEFAULT_EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | STREAM
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)

#: The bot's managed role by default: what an invite for a reverse-image-search bot asks for.
DEFAULT_BOT_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | EMBED_LINKS
    | ATTACH_FILES
    | ADD_REACTIONS
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)

# Permissions that are meaningless without SEND_MESSAGES (Discord strips them implicitly).
_SEND_DEPENDENT = MENTION_EVERYONE | SEND_TTS_MESSAGES | ATTACH_FILES | EMBED_LINKS

OVERWRITE_ROLE = 0
OVERWRITE_MEMBER = 1


@dataclass
class Overwrite:
    """A channel permission overwrite for a role (type 0) or a member (type 1)."""

    id: int
    type: int = OVERWRITE_ROLE
    allow: int = 0
    deny: int = 0

    @classmethod
    def for_role(cls, role: object, *, allow: int = 0, deny: int = 0) -> Overwrite:
        """Overwrite for a role (anything with ``.id``, a dict with ``"id"`` or an int)."""
        return cls(id=as_id(role), type=OVERWRITE_ROLE, allow=allow, deny=deny)

    @classmethod
    def for_member(cls, member: object, *, allow: int = 0, deny: int = 0) -> Overwrite:
        """Overwrite for a single member."""
        return cls(id=as_id(member), type=OVERWRITE_MEMBER, allow=allow, deny=deny)

    def to_payload(self) -> dict[str, object]:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


def as_id(obj: object) -> int:
    """The snowflake of an int, a ``{"id": ...}`` dict, or any object with ``.id``."""
    if isinstance(obj, bool):
        raise TypeError("a bool is not a snowflake")
    if isinstance(obj, int):
        return obj
    if isinstance(obj, str):
        return int(obj)
    if isinstance(obj, dict):
        return int(obj["id"])
    value = getattr(obj, "id", None)
    if value is None:
        raise TypeError(f"cannot take a snowflake id from {obj!r}")
    return int(value)


def base_permissions(
    *,
    everyone_permissions: int,
    role_permissions: Iterable[int],
    is_owner: bool = False,
) -> int:
    """Guild-level permissions: @everyone OR'ed with the member's roles."""
    if is_owner:
        return ALL_PERMISSIONS
    perms = everyone_permissions
    for value in role_permissions:
        perms |= value
    if perms & ADMINISTRATOR:
        return ALL_PERMISSIONS
    return perms


def apply_overwrites(
    base: int,
    *,
    guild_id: int,
    member_id: int,
    member_role_ids: Iterable[int],
    overwrites: Iterable[Overwrite],
) -> int:
    """Apply a channel's overwrites to ``base`` following Discord's order."""
    if base & ADMINISTRATOR:
        return ALL_PERMISSIONS
    overwrites = list(overwrites)
    role_ids = set(member_role_ids)
    perms = base
    for ow in overwrites:
        if ow.type == OVERWRITE_ROLE and ow.id == guild_id:
            perms &= ~ow.deny
            perms |= ow.allow
    allow = deny = 0
    for ow in overwrites:
        if ow.type == OVERWRITE_ROLE and ow.id != guild_id and ow.id in role_ids:
            allow |= ow.allow
            deny |= ow.deny
    perms &= ~deny
    perms |= allow
    for ow in overwrites:
        if ow.type == OVERWRITE_MEMBER and ow.id == member_id:
            perms &= ~ow.deny
            perms |= ow.allow
    return perms


def apply_implicit(perms: int) -> int:
    """Implicit rules: no VIEW_CHANNEL means nothing; no SEND drops send-dependent bits."""
    if perms & ADMINISTRATOR:
        return ALL_PERMISSIONS
    if not perms & VIEW_CHANNEL:
        return 0
    if not perms & SEND_MESSAGES:
        perms &= ~_SEND_DEPENDENT
    return perms


def has(perms: int, needed: int) -> bool:
    """True when every bit of ``needed`` is set in ``perms``."""
    return perms & needed == needed

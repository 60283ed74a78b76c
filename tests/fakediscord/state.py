"""The fake's data model: users, guilds, roles, members and channels.

Each object knows how to render itself as the JSON payload Discord would send
(``to_payload``), with exactly the fields discord.py 2.7 reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import permissions as perm
from .permissions import Overwrite
from .snowflake import iso_timestamp, now_iso

JSON = dict[str, Any]

# Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types)
GUILD_TEXT = 0
GUILD_VOICE = 2
GUILD_CATEGORY = 4
GUILD_ANNOUNCEMENT = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_FORUM = 15
THREAD_TYPES = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})


def _opt_str(value: int | None) -> str | None:
    return None if value is None else str(value)


@dataclass
class User:
    """A Discord user (a person or a bot)."""

    id: int
    username: str
    bot: bool = False
    global_name: str | None = None
    #: The language of the user's Discord client: sent as ``locale`` in their interactions,
    #: never in the user object.
    locale: str = "en-US"

    def to_payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass
class Role:
    """A guild role. The @everyone role has the guild's id."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    bot_id: int | None = None
    color: int = 0
    hoist: bool = False
    mentionable: bool = False

    def to_payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"


@dataclass
class Member:
    """A user's membership of one guild."""

    user: User
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=now_iso)

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def mention(self) -> str:
        return self.user.mention

    def to_payload(self, *, with_user: bool = True, permissions: int | None = None) -> JSON:
        data: JSON = {
            "roles": [str(r) for r in self.role_ids],
            "joined_at": self.joined_at,
            "nick": self.nick,
            "avatar": None,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.to_payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class Channel:
    """A guild channel: text, category, announcement, forum, voice or a thread."""

    id: int
    guild_id: int
    name: str
    type: int = GUILD_TEXT
    position: int = 0
    parent_id: int | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    topic: str | None = None
    nsfw: bool = False
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    last_message_id: int | None = None
    message_count: int = 0
    #: A thread's members (user ids); for a private thread, who may open it.
    member_ids: set[int] = field(default_factory=set)

    @property
    def is_private_thread(self) -> bool:
        return self.type == PRIVATE_THREAD

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def to_payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "parent_id": _opt_str(self.parent_id),
            "nsfw": self.nsfw,
            "last_message_id": _opt_str(self.last_message_id),
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        if self.is_thread:
            data.update(
                {
                    "owner_id": str(self.owner_id or 0),
                    "message_count": self.message_count,
                    "total_message_sent": self.message_count,
                    "member_count": len(self.member_ids),
                    "thread_metadata": {
                        "archived": self.archived,
                        "auto_archive_duration": 1440,
                        "archive_timestamp": iso_timestamp(self.id),
                        "locked": self.locked,
                        "create_timestamp": iso_timestamp(self.id),
                    },
                }
            )
        else:
            data["position"] = self.position
            data["permission_overwrites"] = [ow.to_payload() for ow in self.overwrites]
            data["topic"] = self.topic
            if self.type == GUILD_VOICE:
                data.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None})
        return data


@dataclass
class Guild:
    """A guild with its roles, members and channels."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    locale: str = "en-US"
    #: Where Discord posts join messages; bots often greet there.
    system_channel_id: int | None = None

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def permissions_for(self, member_id: int, channel_id: int | None = None) -> int:
        """Member's computed permissions, guild-wide or in a channel.

        Threads use their parent's; a private thread is closed (0) to anyone who is neither
        one of its members nor holds Manage Threads there, as Discord's threads documentation
        says.
        """
        member = self.members.get(member_id)
        if member is None:
            return 0
        role_perms = [self.roles[r].permissions for r in member.role_ids if r in self.roles]
        base = perm.base_permissions(
            everyone_permissions=self.everyone.permissions,
            role_permissions=role_perms,
            is_owner=member_id == self.owner_id,
        )
        if channel_id is None:
            return base
        channel = self.channels.get(channel_id)
        if channel is None:
            return base
        thread = channel if channel.is_thread else None
        if thread is not None and thread.parent_id in self.channels:
            channel = self.channels[thread.parent_id]
        computed = perm.apply_overwrites(
            base,
            guild_id=self.id,
            member_id=member_id,
            member_role_ids=member.role_ids,
            overwrites=channel.overwrites,
        )
        computed = perm.apply_implicit(computed)
        if (
            thread is not None
            and thread.is_private_thread
            and member_id not in thread.member_ids
            and not computed & perm.MANAGE_THREADS
        ):
            return 0
        return computed

    def can_view(self, member_id: int, channel_id: int) -> bool:
        return bool(self.permissions_for(member_id, channel_id) & perm.VIEW_CHANNEL)

    def to_create_payload(self, viewer_id: int | None = None) -> JSON:
        """The GUILD_CREATE payload (all channels, active threads, roles and members).

        With ``viewer_id``, only the threads that user may open (private ones need membership
        or Manage Threads).
        """
        regular = [c for c in self.channels.values() if not c.is_thread]
        threads = [
            c
            for c in self.channels.values()
            if c.is_thread
            and not c.archived
            and (viewer_id is None or self.can_view(viewer_id, c.id))
        ]
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_id": None
            if self.system_channel_id is None
            else str(self.system_channel_id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "preferred_locale": self.locale,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [r.to_payload() for r in self.roles.values()],
            "joined_at": now_iso(),
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "members": [m.to_payload() for m in self.members.values()],
            "channels": [c.to_payload() for c in regular],
            "threads": [c.to_payload() for c in threads],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

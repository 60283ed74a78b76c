"""FakeDiscord: the test-facing facade tying the model, REST server and gateway together.

Typical use::

    async with FakeDiscord() as fake:
        guild = fake.add_guild(name="Test")
        channel = fake.add_text_channel(guild, name="general")
        alice = fake.add_member(guild, name="alice")
        async with running_bot(fake, bot):
            await fake.post_message(channel, alice, "hi", attachments=[("cat.png", png)])
            reply = await fake.wait_for_message(channel)

Builder methods (``add_*``) are synchronous; after a bot connected they also
dispatch the matching gateway event (CHANNEL_CREATE, GUILD_ROLE_CREATE, ...).
User actions (``post_message``, ``slash_command``, ...) are coroutines.
"""

from __future__ import annotations

import asyncio
import copy
import fnmatch
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import TypeVar

from aiohttp import web

from . import messages as m
from . import permissions as perm
from .actions import UserActions
from .gateway import INTENT_GUILD_MEMBERS, INTENT_GUILDS, Gateway, GatewaySession
from .interactions import FakeDiscordError, InteractionManager
from .messaging import Messaging
from .permissions import Overwrite, as_id
from .records import CommandSync, Fault, RecordedRequest, normalize_pattern
from .snowflake import SnowflakeFactory, now_iso
from .state import (
    GUILD_CATEGORY,
    GUILD_TEXT,
    JSON,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    Channel,
    Guild,
    Member,
    Role,
    User,
)
from .triggers import InteractionTriggers

T = TypeVar("T")

#: GATEWAY_MESSAGE_CONTENT_LIMITED: what an unverified bot's application flags look like
APPLICATION_FLAGS = 1 << 19


class FakeDiscord(UserActions, InteractionTriggers):
    """A local fake of Discord's REST API v10, gateway and attachment CDN."""

    def __init__(
        self,
        *,
        bot_name: str = "seenit",
        host: str = "127.0.0.1",
        port: int = 0,
        enforce_permissions: bool = True,
        token: str | None = None,
    ) -> None:
        self.host = host
        #: 0 picks a free port at start; a fixed one lets a test start the fake late.
        self.port = port
        #: When set, a request authorised with another bot token gets Discord's 401.
        self.token = token
        self.snowflakes = SnowflakeFactory()
        self.bot_user = User(id=self.snowflakes.next(), username=bot_name, bot=True)
        self.application_id = self.bot_user.id
        self.owner_user = User(id=self.snowflakes.next(), username="app-owner")
        self.users: dict[int, User] = {u.id: u for u in (self.bot_user, self.owner_user)}
        self.guilds: dict[int, Guild] = {}
        self._channel_guild: dict[int, int] = {}
        self.store = m.MessageStore()
        self.gateway = Gateway(self)
        self.interactions = InteractionManager(self)
        self.messaging = Messaging(self)
        #: every HTTP request received, in order
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        #: exceptions raised inside the fake's handlers (bugs of the fake), answered with 400
        self.internal_errors: list[Exception] = []
        #: when True the bot gets 403s like on Discord when it lacks channel permissions
        self.enforce_permissions = enforce_permissions
        self.global_commands: list[JSON] = []
        self.guild_commands: dict[int, list[JSON]] = {}
        self.command_syncs: list[CommandSync] = []
        #: guild id -> command id (or the application id: every command) -> overrides, as set
        #: in Server Settings -> Integrations; each ``{"id", "type", "permission"}``
        self.command_permissions: dict[int, dict[int, list[JSON]]] = {}
        #: GIF-site links (Tenor, Giphy) -> (MP4 bytes, still bytes): posted, they unfurl
        #: as "gifv" embeds
        self.gif_links: dict[str, tuple[bytes, bytes]] = {}
        self._adhoc_command_ids: dict[tuple[str, int], int] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._runner: web.AppRunner | None = None

    # ============================================================ lifecycle

    async def start(self) -> FakeDiscord:
        """Start the HTTP/websocket server on a free port of ``host``."""
        from .server import build_app

        if self._runner is not None:
            return self
        runner = web.AppRunner(build_app(self), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        """Close gateway connections and stop the server."""
        if self._runner is None:
            return
        await self.gateway.close_all()
        await self._runner.cleanup()
        self._runner = None
        for fut in self._waiters:
            if not fut.done():
                fut.cancel()
        self._waiters.clear()

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` must be set to."""
        return f"{self.base_url}/api/v10"

    @property
    def ws_url(self) -> str:
        """Gateway URL (also sent as ``resume_gateway_url``)."""
        return f"ws://{self.host}:{self.port}/"

    # ============================================================== waiting

    def _notify(self) -> None:
        """Wake every :meth:`wait_until` so it re-checks its predicate."""
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def wait_until(
        self,
        predicate: Callable[[], T | None],
        *,
        timeout: float = 5.0,
        what: str = "condition",
    ) -> T:
        """Wait until ``predicate()`` returns something truthy (re-checked on every fake event)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"fakediscord: timed out after {timeout}s waiting for {what}")
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            # Also poll now and then: some conditions (bot-side state) change without a fake event.
            await asyncio.wait({fut}, timeout=min(remaining, 0.05))

    # ============================================================== builders

    def state_guild(self, guild_id: int) -> Guild | None:
        return self.guilds.get(guild_id)

    def guild(self, guild: object) -> Guild:
        """The :class:`Guild` for a guild object, dict or id."""
        return self.guilds[as_id(guild)]

    def channel(self, channel: object) -> Channel:
        """The :class:`Channel` for a channel object, dict or id."""
        cid = as_id(channel)
        try:
            return self.guilds[self._channel_guild[cid]].channels[cid]
        except KeyError:
            raise KeyError(f"unknown channel {cid}") from None

    def add_user(self, name: str, *, bot: bool = False) -> User:
        """A user that is not (yet) a member of any guild."""
        user = User(id=self.snowflakes.next(), username=name, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str = "Test Guild",
        *,
        owner: User | None = None,
        bot_permissions: int = perm.DEFAULT_BOT_PERMISSIONS,
        manage_messages: bool = False,
        everyone_permissions: int = perm.DEFAULT_EVERYONE_PERMISSIONS,
        locale: str = "en-US",
        joined: bool = True,
    ) -> Guild:
        """A guild with @everyone, an owner, and the bot as a member of its managed role.

        The bot's role gets ``bot_permissions`` (plus MANAGE_MESSAGES when
        ``manage_messages``). The owner is a member named ``owner`` unless
        given. ``locale`` is the server's preferred locale. Dispatches GUILD_CREATE when a
        bot is connected. With ``joined=False`` the bot is not in it yet: build it
        (channels, members, history), then :meth:`join_guild` invites the bot.
        """
        gid = self.snowflakes.next()
        owner = owner or self.add_user(f"owner-{len(self.guilds) + 1}")
        guild = Guild(id=gid, name=name, owner_id=owner.id, locale=locale)
        guild.roles[gid] = Role(
            id=gid, guild_id=gid, name="@everyone", permissions=everyone_permissions
        )
        guild.members[owner.id] = Member(user=owner, guild_id=gid)
        self.guilds[gid] = guild
        if joined:
            self.join_guild(guild, bot_permissions=bot_permissions, manage_messages=manage_messages)
        self._notify()
        return guild

    def join_guild(
        self,
        guild: object,
        *,
        bot_permissions: int = perm.DEFAULT_BOT_PERMISSIONS,
        manage_messages: bool = False,
    ) -> None:
        """The bot is invited: Discord gives it a managed role and sends GUILD_CREATE.

        A guild joined while connected comes without the "unavailable" key, so discord.py
        fires on_guild_join (a reconnect's GUILD_CREATEs say ``unavailable: false``).
        """
        g = self.guild(guild)
        bot_perms = bot_permissions | (perm.MANAGE_MESSAGES if manage_messages else 0)
        bot_role = Role(
            id=self.snowflakes.next(),
            guild_id=g.id,
            name=self.bot_user.username,
            permissions=bot_perms,
            position=1,
            managed=True,
            bot_id=self.bot_user.id,
        )
        g.roles[bot_role.id] = bot_role
        g.members[self.bot_user.id] = Member(
            user=self.bot_user, guild_id=g.id, role_ids=[bot_role.id]
        )
        join_payload = g.to_create_payload(self.bot_user.id)
        join_payload.pop("unavailable")
        self.gateway.dispatch("GUILD_CREATE", join_payload, intent=None)
        self._notify()

    def bot_in(self, guild: object) -> bool:
        """Whether the bot is a member of ``guild`` (it gets the guild's events only then)."""
        return self.bot_user.id in self.guild(guild).members

    def _guild_event(self, g: Guild, event: str, data: JSON, intent: int | None) -> None:
        if self.bot_user.id in g.members:
            self.gateway.dispatch(event, data, intent=intent)

    def set_system_channel(self, guild: object, channel: object | None) -> None:
        """Choose the guild's system channel (GUILD_UPDATE)."""
        g = self.guild(guild)
        g.system_channel_id = None if channel is None else as_id(channel)
        self._guild_event(g, "GUILD_UPDATE", self._guild_update_payload(g), INTENT_GUILDS)
        self._notify()

    def _guild_update_payload(self, g: Guild) -> JSON:
        payload = g.to_create_payload()
        for key in ("members", "channels", "threads", "voice_states", "presences", "joined_at"):
            payload.pop(key, None)
        for key in ("large", "unavailable", "member_count", "stage_instances"):
            payload.pop(key, None)
        for key in ("guild_scheduled_events", "soundboard_sounds"):
            payload.pop(key, None)
        return payload

    def set_guild_locale(self, guild: object, locale: str) -> None:
        """An admin changes the server's preferred locale (Server Settings); GUILD_UPDATE."""
        g = self.guild(guild)
        g.locale = locale
        self._guild_event(g, "GUILD_UPDATE", self._guild_update_payload(g), INTENT_GUILDS)
        self._notify()

    def bot_member(self, guild: object) -> Member:
        """The bot's own member in ``guild``."""
        return self.guild(guild).members[self.bot_user.id]

    def bot_role(self, guild: object) -> Role:
        """The bot's managed role in ``guild``."""
        g = self.guild(guild)
        return next(r for r in g.roles.values() if r.bot_id == self.bot_user.id)

    def add_role(
        self,
        guild: object,
        name: str,
        permissions: int = 0,
        *,
        position: int | None = None,
    ) -> Role:
        """A role; dispatches GUILD_ROLE_CREATE when connected."""
        g = self.guild(guild)
        role = Role(
            id=self.snowflakes.next(),
            guild_id=g.id,
            name=name,
            permissions=permissions,
            position=len(g.roles) if position is None else position,
        )
        g.roles[role.id] = role
        self._guild_event(
            g,
            "GUILD_ROLE_CREATE",
            {"guild_id": str(g.id), "role": role.to_payload()},
            INTENT_GUILDS,
        )
        self._notify()
        return role

    def add_member(
        self,
        guild: object,
        name: str = "user",
        *,
        roles: Iterable[object] = (),
        bot: bool = False,
        user: User | None = None,
        nick: str | None = None,
    ) -> Member:
        """A member (a new user unless ``user`` given).

        GUILD_MEMBER_ADD is only dispatched to bots with the members intent.
        """
        g = self.guild(guild)
        if user is None:
            user = self.add_user(name, bot=bot)
        member = Member(user=user, guild_id=g.id, role_ids=[as_id(r) for r in roles], nick=nick)
        g.members[user.id] = member
        self.users[user.id] = user
        payload = member.to_payload()
        payload["guild_id"] = str(g.id)
        self._guild_event(g, "GUILD_MEMBER_ADD", payload, INTENT_GUILD_MEMBERS)
        self._notify()
        return member

    def _add_channel(self, g: Guild, channel: Channel) -> Channel:
        g.channels[channel.id] = channel
        self._channel_guild[channel.id] = g.id
        if channel.is_thread:
            payload = channel.to_payload()
            payload["newly_created"] = True
            # Like Discord: a private thread only reaches a bot that may open it.
            if g.can_view(self.bot_user.id, channel.id):
                self._guild_event(g, "THREAD_CREATE", payload, INTENT_GUILDS)
        else:
            self._guild_event(g, "CHANNEL_CREATE", channel.to_payload(), INTENT_GUILDS)
        self._notify()
        return channel

    def add_text_channel(
        self,
        guild: object,
        name: str = "general",
        *,
        parent_id: object | None = None,
        overwrites: Sequence[Overwrite] = (),
        topic: str | None = None,
        nsfw: bool = False,
    ) -> Channel:
        """A text channel, optionally in a category; ``overwrites`` are permission overwrites.

        A private channel: ``overwrites=[Overwrite.for_role(guild.id, deny=VIEW_CHANNEL)]``.
        """
        g = self.guild(guild)
        channel = Channel(
            id=self.snowflakes.next(),
            guild_id=g.id,
            name=name,
            type=GUILD_TEXT,
            position=len(g.channels),
            parent_id=None if parent_id is None else as_id(parent_id),
            overwrites=list(overwrites),
            topic=topic,
            nsfw=nsfw,
        )
        return self._add_channel(g, channel)

    def add_category(
        self, guild: object, name: str = "category", *, overwrites: Sequence[Overwrite] = ()
    ) -> Channel:
        """A category channel (type 4)."""
        g = self.guild(guild)
        channel = Channel(
            id=self.snowflakes.next(),
            guild_id=g.id,
            name=name,
            type=GUILD_CATEGORY,
            position=len(g.channels),
            overwrites=list(overwrites),
        )
        return self._add_channel(g, channel)

    def add_thread(
        self,
        parent: object,
        name: str = "thread",
        *,
        owner: object | None = None,
        private: bool = False,
        archived: bool = False,
        members: Iterable[object] = (),
    ) -> Channel:
        """A thread under a text channel (permissions come from the parent).

        Its members are the owner and ``members``; a private thread is open only to them
        and to those with Manage Threads in the parent.
        """
        parent_channel = self.channel(parent)
        g = self.guild(parent_channel.guild_id)
        owner_id = as_id(owner) if owner is not None else g.owner_id
        channel = Channel(
            id=self.snowflakes.next(),
            guild_id=g.id,
            name=name,
            type=PRIVATE_THREAD if private else PUBLIC_THREAD,
            parent_id=parent_channel.id,
            owner_id=owner_id,
            archived=archived,
            member_ids={owner_id, *(as_id(x) for x in members)},
        )
        return self._add_channel(g, channel)

    def _thread_member_payload(self, thread: Channel, user_id: int) -> JSON:
        return {
            "id": str(thread.id),
            "user_id": str(user_id),
            "join_timestamp": now_iso(),
            "flags": 0,
        }

    def add_thread_member(self, thread: object, member: object) -> None:
        """Add someone to a thread (THREAD_MEMBERS_UPDATE; THREAD_CREATE when it is the bot).

        Without the members intent a bot hears only of its own joins and leaves, as on Discord.
        """
        ch = self.channel(thread)
        g = self.guilds[ch.guild_id]
        uid = as_id(member)
        bot_could_view = g.can_view(self.bot_user.id, ch.id)
        ch.member_ids.add(uid)
        if uid == self.bot_user.id and not bot_could_view:
            self.gateway.dispatch("THREAD_CREATE", ch.to_payload(), intent=INTENT_GUILDS)
        if g.can_view(self.bot_user.id, ch.id):
            self.gateway.dispatch(
                "THREAD_MEMBERS_UPDATE",
                {
                    "id": str(ch.id),
                    "guild_id": str(g.id),
                    "member_count": len(ch.member_ids),
                    "added_members": [self._thread_member_payload(ch, uid)],
                },
                intent=None if uid == self.bot_user.id else INTENT_GUILD_MEMBERS,
            )
        self._notify()

    def remove_thread_member(self, thread: object, member: object) -> None:
        """Remove someone from a thread (THREAD_MEMBERS_UPDATE)."""
        ch = self.channel(thread)
        g = self.guilds[ch.guild_id]
        uid = as_id(member)
        bot_could_view = g.can_view(self.bot_user.id, ch.id)
        ch.member_ids.discard(uid)
        if bot_could_view:
            self.gateway.dispatch(
                "THREAD_MEMBERS_UPDATE",
                {
                    "id": str(ch.id),
                    "guild_id": str(g.id),
                    "member_count": len(ch.member_ids),
                    "removed_member_ids": [str(uid)],
                },
                intent=None if uid == self.bot_user.id else INTENT_GUILD_MEMBERS,
            )
        self._notify()

    def set_role_permissions(self, role: Role, permissions: int) -> None:
        """Change a role's permissions (GUILD_ROLE_UPDATE)."""
        role.permissions = permissions
        self._guild_event(
            self.guild(role.guild_id),
            "GUILD_ROLE_UPDATE",
            {"guild_id": str(role.guild_id), "role": role.to_payload()},
            INTENT_GUILDS,
        )
        self._notify()

    def set_overwrites(self, channel: object, overwrites: Sequence[Overwrite]) -> None:
        """Replace a channel's permission overwrites (CHANNEL_UPDATE)."""
        ch = self.channel(channel)
        ch.overwrites = list(overwrites)
        self._guild_event(self.guild(ch.guild_id), "CHANNEL_UPDATE", ch.to_payload(), INTENT_GUILDS)
        self._notify()

    def set_member_roles(self, guild: object, member: object, roles: Iterable[object]) -> None:
        """Replace a member's roles (GUILD_MEMBER_UPDATE)."""
        g = self.guild(guild)
        mem = g.members[as_id(member)]
        mem.role_ids = [as_id(r) for r in roles]
        payload = mem.to_payload()
        payload["guild_id"] = str(g.id)
        self._guild_event(g, "GUILD_MEMBER_UPDATE", payload, INTENT_GUILD_MEMBERS)
        self._notify()

    def permissions_for(self, guild: object, member: object, channel: object | None = None) -> int:
        """Computed permissions of a member, guild-wide or in a channel."""
        g = self.guild(guild)
        return g.permissions_for(as_id(member), None if channel is None else as_id(channel))

    def bot_permissions(self, channel: object) -> int:
        """The bot's computed permissions in a channel."""
        ch = self.channel(channel)
        return self.guilds[ch.guild_id].permissions_for(self.bot_user.id, ch.id)

    # ================================================= application commands

    def command_id(self, name: str) -> int:
        """The id of a global command the bot synced (by top-level name)."""
        for cmd in self.global_commands:
            if cmd["name"] == name:
                return int(cmd["id"])
        raise KeyError(f"the bot has not synced a command named {name!r}")

    def command_permissions_payload(self, guild_id: int, target_id: int) -> JSON:
        """A GuildApplicationCommandPermissions object."""
        return {
            "id": str(target_id),
            "application_id": str(self.application_id),
            "guild_id": str(guild_id),
            "permissions": copy.deepcopy(self.command_permissions[guild_id][target_id]),
        }

    def set_command_permissions(
        self,
        guild: object,
        command: str | None,
        *,
        roles: Sequence[tuple[object, bool]] = (),
        users: Sequence[tuple[object, bool]] = (),
        channels: Sequence[tuple[object, bool]] = (),
    ) -> None:
        """What an admin sets in Server Settings -> Integrations for a command (by name), or
        for every command of the bot when ``command`` is None.

        Each entry is (role / member / channel, allowed); the guild itself is @everyone in
        ``roles``, and ``guild.id - 1`` in ``channels`` means all channels. Dispatches
        APPLICATION_COMMAND_PERMISSIONS_UPDATE. The fake still delivers any member's
        interaction (a test stands for any client): the bot must check for itself.
        """
        g = self.guild(guild)
        target = self.application_id if command is None else self.command_id(command)
        entries = [
            {"id": str(as_id(key)), "type": kind, "permission": allowed}
            for kind, table in ((1, roles), (2, users), (3, channels))
            for key, allowed in table
        ]
        self.command_permissions.setdefault(g.id, {})[target] = entries
        self.gateway.dispatch(
            "APPLICATION_COMMAND_PERMISSIONS_UPDATE",
            self.command_permissions_payload(g.id, target),
            intent=None,
        )
        self._notify()

    # ======================================================= gateway payloads

    def _ready_payload(self, session: GatewaySession) -> JSON:
        user = self.bot_user.to_payload()
        user.update({"verified": True, "mfa_enabled": False, "flags": 0, "email": None})
        return {
            "v": 10,
            "user": user,
            "guilds": [{"id": str(gid), "unavailable": True} for gid in self._joined_guilds()],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.ws_url,
            "application": {"id": str(self.application_id), "flags": APPLICATION_FLAGS},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["fakediscord"],
        }

    def _joined_guilds(self) -> list[int]:
        return [gid for gid, g in self.guilds.items() if self.bot_user.id in g.members]

    def _guild_create_payloads(self) -> list[JSON]:
        return [
            self.guilds[gid].to_create_payload(self.bot_user.id) for gid in self._joined_guilds()
        ]

    def application_info(self) -> JSON:
        """``GET /oauth2/applications/@me``."""
        return {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "",
            "summary": "",
            "rpc_origins": [],
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.owner_user.to_payload(),
            "team": None,
            "verify_key": "0" * 64,
            "flags": APPLICATION_FLAGS,
            "bot": self.bot_user.to_payload(),
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
            "approximate_guild_count": len(self.guilds),
        }

    # ========================================================== permissions

    def require_bot(self, channel_id: int, needed: int) -> None:
        """Raise the 403 Discord would answer when the bot lacks ``needed`` in the channel."""
        if not self.enforce_permissions:
            return
        perms = self.bot_permissions(channel_id)
        if not perms & perm.VIEW_CHANNEL:
            raise FakeDiscordError(403, 50001, "Missing Access")
        if not perm.has(perms, needed):
            raise FakeDiscordError(403, 50013, "Missing Permissions")

    def attachment_bytes(self, attachment: object) -> bytes:
        """Bytes stored behind an attachment (dict or id)."""
        return self.store.blobs[as_id(attachment)].data

    # ============================================================ inspection

    def _user(self, user: object) -> User:
        if isinstance(user, User):
            return user
        if isinstance(user, Member):
            return user.user
        return self.users[as_id(user)]

    def _message_in(self, channel: object, message: object) -> JSON:
        mid = m.as_message_id(message)
        msg = self.store.get(mid, self.channel(channel).id)
        if msg is None:
            raise KeyError(f"message {mid} not in channel {as_id(channel)}")
        return msg

    def messages_in(self, channel: object) -> list[JSON]:
        """Live messages of a channel, oldest first (ephemeral ones excluded)."""
        return self.store.in_channel(as_id(channel))

    def bot_messages_in(self, channel: object) -> list[JSON]:
        """Messages the bot authored in a channel, oldest first."""
        bot_id = str(self.bot_user.id)
        return [x for x in self.messages_in(channel) if x["author"]["id"] == bot_id]

    def get_message(self, message: object) -> JSON | None:
        """A live message by id (also ephemeral interaction responses)."""
        return self.store.get(m.as_message_id(message))

    @property
    def deleted_messages(self) -> list[JSON]:
        return self.store.deleted

    def reactions_on(self, message: object) -> dict[str, list[int]]:
        """Emoji -> ids of users who reacted, for a message."""
        return copy.deepcopy(self.store.reactions.get(m.as_message_id(message), {}))

    async def wait_for_message(
        self,
        channel: object,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 5.0,
        *,
        after: object | None = None,
        from_bot: bool = True,
    ) -> JSON:
        """First message in ``channel`` (oldest first) by the bot matching ``predicate``.

        ``after``: only messages newer than this message/id are considered.
        ``from_bot=False`` considers any author.
        """
        after_id = m.as_message_id(after) if after is not None else 0
        bot_id = str(self.bot_user.id)

        def check() -> JSON | None:
            for msg in self.messages_in(channel):
                if int(msg["id"]) <= after_id:
                    continue
                if from_bot and msg["author"]["id"] != bot_id:
                    continue
                if predicate is None or predicate(msg):
                    return msg
            return None

        return await self.wait_until(
            check, timeout=timeout, what=f"a message in channel {as_id(channel)}"
        )

    def requests_matching(self, method: str = "*", pattern: str = "*") -> list[RecordedRequest]:
        """Recorded requests matching a method and a path glob (relative patterns get /api/v10)."""
        glob = normalize_pattern(pattern)
        return [
            r
            for r in self.requests
            if method in ("*", r.method) and fnmatch.fnmatchcase(r.path, glob)
        ]

    async def wait_for_request(
        self, method: str, pattern: str, *, count: int = 1, timeout: float = 5.0
    ) -> RecordedRequest:
        """Wait until ``count`` requests match; returns the ``count``-th."""

        def check() -> RecordedRequest | None:
            found = [r for r in self.requests_matching(method, pattern) if r.status is not None]
            return found[count - 1] if len(found) >= count else None

        return await self.wait_until(check, timeout=timeout, what=f"{method} {pattern} x{count}")

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        """Requests to routes the fake does not implement (answered 404)."""
        return [r for r in self.requests if not r.known]

    @property
    def sync_count(self) -> int:
        """How many bulk command overwrites (``tree.sync()``) happened."""
        return len(self.command_syncs)

    # ======================================================= fault injection

    def inject_fault(
        self,
        method: str,
        pattern: str,
        *,
        status: int | None = 429,
        count: int = 1,
        retry_after: float = 0.05,
        is_global: bool = False,
        delay: float = 0.0,
    ) -> Fault:
        """Make the next ``count`` requests matching ``method`` + path glob fail.

        ``pattern`` is an fnmatch glob on the URL path; patterns not starting
        with ``/api/``, ``/attachments/`` or ``/media/`` are relative to
        ``/api/v10`` (``"/channels/*/messages"``). ``status=429`` answers like
        Discord's rate limiter (``retry_after`` seconds); ``status=None`` only
        delays by ``delay`` seconds and then serves normally.
        """
        fault = Fault(
            method=method.upper(),
            pattern=normalize_pattern(pattern),
            remaining=count,
            status=status,
            retry_after=retry_after,
            is_global=is_global,
            delay=delay,
        )
        self.faults.append(fault)
        return fault

    def rate_limit(
        self, method: str, pattern: str, *, count: int = 1, retry_after: float = 0.05
    ) -> Fault:
        """Shortcut: the next ``count`` matching requests get 429."""
        return self.inject_fault(method, pattern, status=429, count=count, retry_after=retry_after)

    def server_error(
        self, method: str, pattern: str, *, count: int = 1, status: int = 500
    ) -> Fault:
        """Shortcut: the next ``count`` matching requests get a 5xx.

        discord.py retries those after 1 s, 3 s, 5 s...: keep ``count`` small.
        """
        return self.inject_fault(method, pattern, status=status, count=count)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.remaining > 0 and fault.matches(method, path):
                fault.remaining -= 1
                fault.hits += 1
                return fault
        return None

    # ============================================================== gateway

    async def drop_gateway(self, code: int = 4000) -> int:
        """Close the bot's websocket(s) with a resumable close code; returns how many."""
        return await self.gateway.drop(code)

    async def wait_for_resume(self, count: int = 1, timeout: float = 5.0) -> JSON:
        """Wait until ``count`` RESUME payloads were received; returns the last."""
        return await self.wait_until(
            lambda: self.gateway.resumes[count - 1] if len(self.gateway.resumes) >= count else None,
            timeout=timeout,
            what=f"gateway RESUME #{count}",
        )

    async def wait_for_gateway_connected(self, timeout: float = 5.0) -> bool:
        """Wait until a live session has an open websocket."""
        return await self.wait_until(
            lambda: self.gateway.connected, timeout=timeout, what="gateway connection"
        )

    @property
    def identify_intents(self) -> int | None:
        """Intents the bot asked for in its latest IDENTIFY."""
        return self.gateway.last_intents

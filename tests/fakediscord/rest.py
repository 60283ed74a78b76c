"""REST routes of the fake (``/api/v10/...``): the subset of Discord's API discord.py needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from . import messages as m
from . import permissions as perm
from .commandrules import commands_errors, form_errors
from .interactions import FakeDiscordError
from .messages import public_copy
from .server import Ctx, Handler, endpoint, json_response, no_content
from .state import JSON, Channel

if TYPE_CHECKING:
    from .fake import FakeDiscord

API = "/api/v10"


def _reject_invalid(commands: list[JSON]) -> None:
    errors = commands_errors(commands)
    if errors:
        raise FakeDiscordError(
            400, 50035, "Invalid Form Body: " + "; ".join(errors), form_errors(commands)
        )


def register_routes(fake: FakeDiscord, router: web.UrlDispatcher) -> None:
    """Add every REST route to ``router``."""
    routes = RestRoutes(fake)

    def add(method: str, path: str, handler: Handler) -> None:
        router.add_route(method, API + path, endpoint(fake, handler))

    # gateway / identity
    add("GET", "/gateway", routes.get_gateway)
    add("GET", "/gateway/bot", routes.get_gateway_bot)
    add("GET", "/users/@me", routes.get_me)
    add("GET", "/users/{user_id:\\d+}", routes.get_user)
    add("GET", "/oauth2/applications/@me", routes.get_application)
    add("GET", "/applications/@me", routes.get_application)
    # application commands
    add("GET", "/applications/{app_id:\\d+}/commands", routes.get_commands)
    add("PUT", "/applications/{app_id:\\d+}/commands", routes.put_commands)
    add("POST", "/applications/{app_id:\\d+}/commands", routes.post_command)
    add("DELETE", "/applications/{app_id:\\d+}/commands/{command_id:\\d+}", routes.delete_command)
    add("GET", "/applications/{app_id:\\d+}/guilds/{guild_id:\\d+}/commands", routes.get_commands)
    add("PUT", "/applications/{app_id:\\d+}/guilds/{guild_id:\\d+}/commands", routes.put_commands)
    add("POST", "/applications/{app_id:\\d+}/guilds/{guild_id:\\d+}/commands", routes.post_command)
    add(
        "DELETE",
        "/applications/{app_id:\\d+}/guilds/{guild_id:\\d+}/commands/{command_id:\\d+}",
        routes.delete_command,
    )
    # application command permissions (a server's Server Settings -> Integrations overrides)
    add(
        "GET",
        "/applications/{app_id:\\d+}/guilds/{guild_id:\\d+}/commands/permissions",
        routes.get_guild_command_permissions,
    )
    add(
        "GET",
        "/applications/{app_id:\\d+}/guilds/{guild_id:\\d+}/commands/{command_id:\\d+}/permissions",
        routes.get_command_permissions,
    )
    # guilds
    add("GET", "/guilds/{guild_id:\\d+}", routes.get_guild)
    add("GET", "/guilds/{guild_id:\\d+}/channels", routes.get_guild_channels)
    add("GET", "/guilds/{guild_id:\\d+}/roles", routes.get_guild_roles)
    add("GET", "/guilds/{guild_id:\\d+}/members/{user_id:\\d+}", routes.get_member)
    # channels and messages
    add("GET", "/channels/{channel_id:\\d+}", routes.get_channel)
    add("POST", "/channels/{channel_id:\\d+}/typing", routes.typing)
    add("GET", "/channels/{channel_id:\\d+}/messages", routes.get_messages)
    add("POST", "/channels/{channel_id:\\d+}/messages", routes.create_message)
    add("POST", "/channels/{channel_id:\\d+}/messages/bulk-delete", routes.bulk_delete)
    add("GET", "/channels/{channel_id:\\d+}/messages/{message_id:\\d+}", routes.get_message)
    add("PATCH", "/channels/{channel_id:\\d+}/messages/{message_id:\\d+}", routes.edit_message)
    add("DELETE", "/channels/{channel_id:\\d+}/messages/{message_id:\\d+}", routes.delete_message)
    reactions = "/channels/{channel_id:\\d+}/messages/{message_id:\\d+}/reactions"
    add("PUT", reactions + "/{emoji}/@me", routes.add_reaction)
    add("DELETE", reactions + "/{emoji}/@me", routes.remove_own_reaction)
    add("DELETE", reactions + "/{emoji}/{user_id:\\d+}", routes.remove_user_reaction)
    add("DELETE", reactions + "/{emoji}", routes.clear_emoji)
    add("DELETE", reactions, routes.clear_reactions)
    add("GET", reactions + "/{emoji}", routes.get_reactions)
    # interactions and their webhooks
    add("POST", "/interactions/{interaction_id:\\d+}/{token}/callback", routes.interaction_callback)
    add("POST", "/webhooks/{app_id:\\d+}/{token}", routes.execute_webhook)
    add(
        "GET",
        "/webhooks/{app_id:\\d+}/{token}/messages/{message_id:(?:@original|\\d+)}",
        routes.get_webhook_message,
    )
    add(
        "PATCH",
        "/webhooks/{app_id:\\d+}/{token}/messages/{message_id:(?:@original|\\d+)}",
        routes.edit_webhook_message,
    )
    add(
        "DELETE",
        "/webhooks/{app_id:\\d+}/{token}/messages/{message_id:(?:@original|\\d+)}",
        routes.delete_webhook_message,
    )


class RestRoutes:
    """Route handlers; each takes a :class:`Ctx` and returns a response."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    # ------------------------------------------------------------- helpers

    def _channel(self, ctx: Ctx) -> Channel:
        try:
            return self.fake.channel(ctx.param("channel_id"))
        except KeyError:
            raise FakeDiscordError(404, 10003, "Unknown Channel") from None

    def _message(self, ctx: Ctx, channel: Channel) -> JSON:
        msg = self.fake.store.get(ctx.param("message_id"), channel.id)
        if msg is None:
            raise FakeDiscordError(404, 10008, "Unknown Message")
        return msg

    def _send_perms(self, channel: Channel) -> int:
        return perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else perm.SEND_MESSAGES

    # ---------------------------------------------------- gateway / identity

    async def get_gateway(self, ctx: Ctx) -> web.StreamResponse:
        return json_response({"url": self.fake.ws_url})

    async def get_gateway_bot(self, ctx: Ctx) -> web.StreamResponse:
        return json_response(
            {
                "url": self.fake.ws_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def get_me(self, ctx: Ctx) -> web.StreamResponse:
        user = self.fake.bot_user.to_payload()
        user.update({"verified": True, "mfa_enabled": False, "flags": 0, "email": None})
        return json_response(user)

    async def get_user(self, ctx: Ctx) -> web.StreamResponse:
        user = self.fake.users.get(ctx.param("user_id"))
        if user is None:
            raise FakeDiscordError(404, 10013, "Unknown User")
        return json_response(user.to_payload())

    async def get_application(self, ctx: Ctx) -> web.StreamResponse:
        return json_response(self.fake.application_info())

    # ---------------------------------------------------- application commands

    def _check_app(self, ctx: Ctx) -> int | None:
        if ctx.param("app_id") != self.fake.application_id:
            raise FakeDiscordError(403, 50001, "Missing Access")
        if "guild_id" in ctx.params:
            gid = ctx.param("guild_id")
            if gid not in self.fake.guilds:
                raise FakeDiscordError(403, 50001, "Missing Access")
            return gid
        return None

    def _pool(self, guild_id: int | None) -> list[JSON]:
        if guild_id is None:
            return self.fake.global_commands
        return self.fake.guild_commands.setdefault(guild_id, [])

    def _materialize(self, guild_id: int | None, raw: JSON, existing: list[JSON]) -> JSON:
        ctype = int(raw.get("type", 1))
        old = next(
            (c for c in existing if c["name"] == raw["name"] and int(c.get("type", 1)) == ctype),
            None,
        )
        cmd: JSON = {
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            **raw,
            "id": old["id"] if old else str(self.fake.snowflakes.next()),
            "application_id": str(self.fake.application_id),
            "version": str(self.fake.snowflakes.next()),
            "type": ctype,
        }
        if guild_id is not None:
            cmd["guild_id"] = str(guild_id)
        return cmd

    async def get_guild_command_permissions(self, ctx: Ctx) -> web.StreamResponse:
        gid = self._check_app(ctx)
        assert gid is not None
        found = self.fake.command_permissions.get(gid, {})
        return json_response([self.fake.command_permissions_payload(gid, t) for t in found])

    async def get_command_permissions(self, ctx: Ctx) -> web.StreamResponse:
        gid = self._check_app(ctx)
        assert gid is not None
        target = ctx.param("command_id")
        if target not in self.fake.command_permissions.get(gid, {}):
            raise FakeDiscordError(404, 10066, "Unknown application command permissions")
        return json_response(self.fake.command_permissions_payload(gid, target))

    async def get_commands(self, ctx: Ctx) -> web.StreamResponse:
        gid = self._check_app(ctx)
        return json_response(public_copy(self._pool(gid)))

    async def put_commands(self, ctx: Ctx) -> web.StreamResponse:
        from .records import CommandSync

        gid = self._check_app(ctx)
        body = ctx.json if isinstance(ctx.json, list) else []
        _reject_invalid(body)
        existing = self._pool(gid)
        commands = [self._materialize(gid, raw, existing) for raw in body]
        if gid is None:
            self.fake.global_commands = commands
        else:
            self.fake.guild_commands[gid] = commands
        self.fake.command_syncs.append(CommandSync(guild_id=gid, commands=public_copy(commands)))
        return json_response(public_copy(commands))

    async def post_command(self, ctx: Ctx) -> web.StreamResponse:
        gid = self._check_app(ctx)
        pool = self._pool(gid)
        _reject_invalid([ctx.body])
        cmd = self._materialize(gid, ctx.body, pool)
        pool[:] = [c for c in pool if c["id"] != cmd["id"]] + [cmd]
        return json_response(public_copy(cmd), status=201)

    async def delete_command(self, ctx: Ctx) -> web.StreamResponse:
        gid = self._check_app(ctx)
        pool = self._pool(gid)
        before = len(pool)
        pool[:] = [c for c in pool if c["id"] != ctx.params["command_id"]]
        if len(pool) == before:
            raise FakeDiscordError(404, 10063, "Unknown application command")
        return no_content()

    # ------------------------------------------------------------- guilds

    def _guild(self, ctx: Ctx):  # type: ignore[no-untyped-def]
        guild = self.fake.guilds.get(ctx.param("guild_id"))
        if guild is None:
            raise FakeDiscordError(404, 10004, "Unknown Guild")
        return guild

    async def get_guild(self, ctx: Ctx) -> web.StreamResponse:
        payload = self._guild(ctx).to_create_payload()
        for key in ("members", "channels", "threads", "voice_states", "presences", "joined_at"):
            payload.pop(key, None)
        return json_response(payload)

    async def get_guild_channels(self, ctx: Ctx) -> web.StreamResponse:
        guild = self._guild(ctx)
        return json_response([c.to_payload() for c in guild.channels.values() if not c.is_thread])

    async def get_guild_roles(self, ctx: Ctx) -> web.StreamResponse:
        return json_response([r.to_payload() for r in self._guild(ctx).roles.values()])

    async def get_member(self, ctx: Ctx) -> web.StreamResponse:
        member = self._guild(ctx).members.get(ctx.param("user_id"))
        if member is None:
            raise FakeDiscordError(404, 10007, "Unknown Member")
        return json_response(member.to_payload())

    # ------------------------------------------------------------ channels

    async def get_channel(self, ctx: Ctx) -> web.StreamResponse:
        channel = self._channel(ctx)
        self.fake.require_bot(channel.id, perm.VIEW_CHANNEL)
        return json_response(channel.to_payload())

    async def typing(self, ctx: Ctx) -> web.StreamResponse:
        channel = self._channel(ctx)
        self.fake.require_bot(channel.id, self._send_perms(channel))
        return no_content()

    async def get_messages(self, ctx: Ctx) -> web.StreamResponse:
        channel = self._channel(ctx)
        self.fake.require_bot(channel.id, perm.VIEW_CHANNEL | perm.READ_MESSAGE_HISTORY)
        query = ctx.request.query

        def opt(name: str) -> int | None:
            return int(query[name]) if query.get(name) else None

        msgs = self.fake.store.history(
            channel.id,
            limit=opt("limit") or 50,
            before=opt("before"),
            after=opt("after"),
            around=opt("around"),
        )
        return json_response(public_copy(msgs))

    async def get_message(self, ctx: Ctx) -> web.StreamResponse:
        channel = self._channel(ctx)
        self.fake.require_bot(channel.id, perm.VIEW_CHANNEL | perm.READ_MESSAGE_HISTORY)
        return json_response(public_copy(self._message(ctx, channel)))

    async def create_message(self, ctx: Ctx) -> web.StreamResponse:
        channel = self._channel(ctx)
        if channel.type not in (0, 5) and not channel.is_thread:
            raise FakeDiscordError(400, 50008, "Cannot send messages in a non-text channel")
        needed = self._send_perms(channel)
        if ctx.files:
            needed |= perm.ATTACH_FILES
        if ctx.body.get("message_reference"):
            needed |= perm.READ_MESSAGE_HISTORY
        self.fake.require_bot(channel.id, needed)
        self.fake.messaging.validate_body(ctx.body, ctx.files)
        body = dict(ctx.body)
        body["flags"] = int(body.get("flags") or 0) & m.FLAG_SUPPRESS_EMBEDS
        msg = self.fake.messaging.new_bot_message(channel.id, body, ctx.files)
        self.fake.messaging.publish_new(msg)
        return json_response(public_copy(msg))

    async def edit_message(self, ctx: Ctx) -> web.StreamResponse:
        channel = self._channel(ctx)
        self.fake.require_bot(channel.id, perm.VIEW_CHANNEL)
        msg = self._message(ctx, channel)
        if int(msg["author"]["id"]) != self.fake.bot_user.id:
            only_flags = set(ctx.body) <= {"flags"}
            if not only_flags:
                raise FakeDiscordError(403, 50005, "Cannot edit a message authored by another user")
            self.fake.require_bot(channel.id, perm.MANAGE_MESSAGES)
        self.fake.messaging.apply_edit(msg, ctx.body, ctx.files)
        return json_response(public_copy(msg))

    async def delete_message(self, ctx: Ctx) -> web.StreamResponse:
        channel = self._channel(ctx)
        msg = self._message(ctx, channel)
        if int(msg["author"]["id"]) != self.fake.bot_user.id:
            self.fake.require_bot(channel.id, perm.MANAGE_MESSAGES)
        self.fake.messaging.delete(msg)
        return no_content()

    async def bulk_delete(self, ctx: Ctx) -> web.StreamResponse:
        channel = self._channel(ctx)
        self.fake.require_bot(channel.id, perm.MANAGE_MESSAGES)
        ids = [int(x) for x in ctx.body.get("messages", [])]
        if not 2 <= len(ids) <= 100:
            raise FakeDiscordError(400, 50035, "Invalid Form Body (messages: 2 to 100 ids)")
        await self.fake.bulk_delete(channel, [i for i in ids if self.fake.store.get(i, channel.id)])
        return no_content()

    # ----------------------------------------------------------- reactions

    async def add_reaction(self, ctx: Ctx) -> web.StreamResponse:
        channel = self._channel(ctx)
        self.fake.require_bot(channel.id, perm.READ_MESSAGE_HISTORY | perm.ADD_REACTIONS)
        msg = self._message(ctx, channel)
        key = m.normalize_emoji(ctx.params["emoji"])
        self.fake.store.add_reaction(int(msg["id"]), key, self.fake.bot_user.id)
        self.fake.store.render_reactions(int(msg["id"]), self.fake.bot_user.id)
        return no_content()

    def _remove(
        self, ctx: Ctx, emoji: str | None, user_id: int | None, needs_manage: bool
    ) -> web.StreamResponse:
        channel = self._channel(ctx)
        needed = perm.READ_MESSAGE_HISTORY | (perm.MANAGE_MESSAGES if needs_manage else 0)
        self.fake.require_bot(channel.id, needed)
        msg = self._message(ctx, channel)
        key = None if emoji is None else m.normalize_emoji(emoji)
        self.fake.store.remove_reaction(int(msg["id"]), key, user_id)
        self.fake.store.render_reactions(int(msg["id"]), self.fake.bot_user.id)
        return no_content()

    async def remove_own_reaction(self, ctx: Ctx) -> web.StreamResponse:
        return self._remove(ctx, ctx.params["emoji"], self.fake.bot_user.id, False)

    async def remove_user_reaction(self, ctx: Ctx) -> web.StreamResponse:
        return self._remove(ctx, ctx.params["emoji"], ctx.param("user_id"), True)

    async def clear_emoji(self, ctx: Ctx) -> web.StreamResponse:
        return self._remove(ctx, ctx.params["emoji"], None, True)

    async def clear_reactions(self, ctx: Ctx) -> web.StreamResponse:
        return self._remove(ctx, None, None, True)

    async def get_reactions(self, ctx: Ctx) -> web.StreamResponse:
        channel = self._channel(ctx)
        self.fake.require_bot(channel.id, perm.READ_MESSAGE_HISTORY)
        msg = self._message(ctx, channel)
        key = m.normalize_emoji(ctx.params["emoji"])
        users = self.fake.store.reactions.get(int(msg["id"]), {}).get(key, [])
        return json_response(
            [self.fake.users[u].to_payload() for u in users if u in self.fake.users]
        )

    # -------------------------------------------------------- interactions

    async def interaction_callback(self, ctx: Ctx) -> web.StreamResponse:
        result = self.fake.interactions.callback(
            ctx.param("interaction_id"),
            ctx.params["token"],
            ctx.body,
            ctx.files,
            with_response=ctx.query_flag("with_response"),
        )
        return no_content() if result is None else json_response(result)

    async def execute_webhook(self, ctx: Ctx) -> web.StreamResponse:
        msg = self.fake.interactions.execute(
            ctx.param("app_id"), ctx.params["token"], ctx.body, ctx.files
        )
        return json_response(public_copy(msg)) if ctx.query_flag("wait") else no_content()

    async def get_webhook_message(self, ctx: Ctx) -> web.StreamResponse:
        msg = self.fake.interactions.get_message(
            ctx.param("app_id"), ctx.params["token"], ctx.params["message_id"]
        )
        return json_response(public_copy(msg))

    async def edit_webhook_message(self, ctx: Ctx) -> web.StreamResponse:
        msg = self.fake.interactions.edit_message(
            ctx.param("app_id"), ctx.params["token"], ctx.params["message_id"], ctx.body, ctx.files
        )
        return json_response(public_copy(msg))

    async def delete_webhook_message(self, ctx: Ctx) -> web.StreamResponse:
        self.fake.interactions.delete_message(
            ctx.param("app_id"), ctx.params["token"], ctx.params["message_id"]
        )
        return no_content()

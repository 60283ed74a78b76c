"""Interactions triggered by users: slash commands, context menus, components.

A mixin of :class:`~.fake.FakeDiscord`. Command ids, ``guild_id`` and option
types come from what the bot synced (when it did); see :mod:`.options`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from . import messages as m
from .gateway import Gateway
from .interactions import (
    APPLICATION_COMMAND,
    CHAT_INPUT,
    MESSAGE_COMMAND,
    MESSAGE_COMPONENT,
    USER_COMMAND,
    InteractionManager,
    InteractionRecord,
)
from .options import OptionBuilder, resolve_path, wrap_subcommands
from .permissions import as_id
from .snowflake import SnowflakeFactory
from .state import JSON, Channel, Guild, User

if TYPE_CHECKING:
    from .fake import FakeDiscord
    from .messaging import Messaging


class InteractionTriggers:
    """Users invoking the bot's application commands and components."""

    if TYPE_CHECKING:  # provided by FakeDiscord
        guilds: dict[int, Guild]
        users: dict[int, User]
        store: m.MessageStore
        gateway: Gateway
        messaging: Messaging
        bot_user: User
        snowflakes: SnowflakeFactory
        interactions: InteractionManager
        global_commands: list[JSON]
        guild_commands: dict[int, list[JSON]]
        _adhoc_command_ids: dict[tuple[str, int], int]

        def guild(self, guild: object) -> Guild: ...
        def channel(self, channel: object) -> Channel: ...
        def _notify(self) -> None: ...
        def _user(self, user: object) -> User: ...
        def _message_in(self, channel: object, message: object) -> JSON: ...

    def _find_command(self, name: str, ctype: int, guild_id: int | None) -> JSON | None:
        pools = [self.guild_commands.get(guild_id, []) if guild_id else [], self.global_commands]
        for pool in pools:
            for cmd in pool:
                if cmd["name"] == name and int(cmd.get("type", 1)) == ctype:
                    return cmd
        return None

    def _command_ref(
        self, name: str, ctype: int, guild_id: int
    ) -> tuple[str, str | None, JSON | None]:
        """(command id, guild_id for data or None, schema) for an invocation."""
        cmd = self._find_command(name, ctype, guild_id)
        if cmd is not None:
            return cmd["id"], cmd.get("guild_id"), cmd
        key = (name, ctype)
        if key not in self._adhoc_command_ids:
            self._adhoc_command_ids[key] = self.snowflakes.next()
        return str(self._adhoc_command_ids[key]), None, None

    async def _send_interaction(self, record: InteractionRecord) -> InteractionRecord:
        self.gateway.dispatch("INTERACTION_CREATE", record.payload, intent=None)
        self._notify()
        await asyncio.sleep(0)
        return record

    async def slash_command(
        self,
        guild: object,
        channel: object,
        user: object,
        name: str,
        options: dict[str, Any] | list[JSON] | None = None,
        *,
        resolved: JSON | None = None,
        locale: str | None = None,
        permissions: int | None = None,
    ) -> InteractionRecord:
        """A member runs a chat-input command; ``name`` may hold a subcommand path ("repost watch").

        ``options`` is ``{name: value}`` (see :mod:`.options` for value types) or a
        raw Discord option list for the leaf command; ``resolved`` is merged
        into the computed resolved data. The command id / guild_id come from
        the bot's last sync when it synced that command. ``permissions``
        overrides the member's computed permissions (``interaction.permissions``);
        ``locale`` the language of the member's client (default: the user's ``locale``).
        """
        g = self.guild(guild)
        ch = self.channel(channel)
        uid = as_id(user)
        parts = name.split()
        cmd_id, cmd_guild, schema = self._command_ref(parts[0], CHAT_INPUT, g.id)
        path_types, leaf_schema = resolve_path(parts, schema)
        if len(parts) == 1 and schema is not None:
            leaf_schema = schema.get("options")
        builder = OptionBuilder(cast("FakeDiscord", self), g, ch, uid)
        leaf = options if isinstance(options, list) else builder.build(options or {}, leaf_schema)
        data: JSON = {
            "id": cmd_id,
            "name": parts[0],
            "type": CHAT_INPUT,
            "options": wrap_subcommands(parts, path_types, leaf),
        }
        merged = builder.resolved
        for key, values in (resolved or {}).items():
            merged.setdefault(key, {}).update(values)
        if merged:
            data["resolved"] = merged
        if cmd_guild is not None:
            data["guild_id"] = cmd_guild
        record = self.interactions.create(
            itype=APPLICATION_COMMAND,
            guild_id=g.id,
            channel_id=ch.id,
            user_id=uid,
            data=data,
            locale=locale,
            command_type=CHAT_INPUT,
            permissions=permissions,
        )
        return await self._send_interaction(record)

    async def context_menu(
        self,
        guild: object,
        channel: object,
        user: object,
        name: str,
        *,
        target_message: object | None = None,
        target_user: object | None = None,
        locale: str | None = None,
        permissions: int | None = None,
    ) -> InteractionRecord:
        """A member uses a message (``target_message``) or user (``target_user``) context menu."""
        g = self.guild(guild)
        ch = self.channel(channel)
        uid = as_id(user)
        if (target_message is None) == (target_user is None):
            raise ValueError("give exactly one of target_message / target_user")
        ctype = MESSAGE_COMMAND if target_message is not None else USER_COMMAND
        cmd_id, cmd_guild, _ = self._command_ref(name, ctype, g.id)
        resolved: JSON
        if target_message is not None:
            msg = self._message_in(ch, target_message)
            target_id = msg["id"]
            copy_ = m.public_copy(msg)
            copy_.pop("guild_id", None)
            resolved = {"messages": {target_id: copy_}}
        else:
            builder = OptionBuilder(cast("FakeDiscord", self), g, ch, uid)
            target_id = builder.convert(target_user, 6)
            resolved = builder.resolved
        data: JSON = {
            "id": cmd_id,
            "name": name,
            "type": ctype,
            "target_id": target_id,
            "resolved": resolved,
        }
        if cmd_guild is not None:
            data["guild_id"] = cmd_guild
        record = self.interactions.create(
            itype=APPLICATION_COMMAND,
            guild_id=g.id,
            channel_id=ch.id,
            user_id=uid,
            data=data,
            locale=locale,
            command_type=ctype,
            permissions=permissions,
        )
        return await self._send_interaction(record)

    async def press_button(
        self,
        guild: object,
        channel: object,
        user: object,
        *,
        message: object,
        custom_id: str,
        locale: str | None = None,
        permissions: int | None = None,
    ) -> InteractionRecord:
        """A member clicks a button (component type 2) on ``message``."""
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._component(guild, channel, user, message, data, locale, permissions)

    async def choose_select(
        self,
        guild: object,
        channel: object,
        user: object,
        *,
        message: object,
        custom_id: str,
        values: Sequence[str],
        component_type: int = 3,
        locale: str | None = None,
        permissions: int | None = None,
    ) -> InteractionRecord:
        """A member picks ``values`` in a string select menu (component type 3)."""
        data = {"custom_id": custom_id, "component_type": component_type, "values": list(values)}
        return await self._component(guild, channel, user, message, data, locale, permissions)

    async def _component(
        self,
        guild: object,
        channel: object,
        user: object,
        message: object,
        data: JSON,
        locale: str | None,
        permissions: int | None,
    ) -> InteractionRecord:
        g = self.guild(guild)
        ch = self.channel(channel)
        msg = self._message_in(ch, message)
        record = self.interactions.create(
            itype=MESSAGE_COMPONENT,
            guild_id=g.id,
            channel_id=ch.id,
            user_id=as_id(user),
            data=data,
            message=msg,
            locale=locale,
            permissions=permissions,
        )
        return await self._send_interaction(record)

"""Interactions: what a test triggers (slash commands, context menus, components)
and how the bot's responses (callbacks, followups, edits of @original) are recorded.

Real Discord behaviour reproduced here:

* an interaction can be acknowledged once (a second callback -> 400, code 40060);
* type 4/5 callbacks create the "original response" message (5 = loading,
  "thinking"); type 6/7 make the component's message the original;
* after a type 5 defer, the first followup fills in the loading message
  (keeping the defer's ephemeral flag) instead of posting a new one;
* ephemeral messages never reach channel history nor the gateway, others get
  MESSAGE_CREATE / MESSAGE_UPDATE / MESSAGE_DELETE like any message.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from . import messages as m
from .messages import UploadedFile
from .state import JSON

if TYPE_CHECKING:
    from .fake import FakeDiscord

T = TypeVar("T")

# Interaction types
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# Application command types
CHAT_INPUT = 1
USER_COMMAND = 2
MESSAGE_COMMAND = 3

# Callback types
CB_PONG = 1
CB_CHANNEL_MESSAGE = 4
CB_DEFERRED_CHANNEL_MESSAGE = 5
CB_DEFERRED_UPDATE_MESSAGE = 6
CB_UPDATE_MESSAGE = 7
CB_AUTOCOMPLETE_RESULT = 8
CB_MODAL = 9


class FakeDiscordError(Exception):
    """A REST error the fake answers with (status, Discord error code, message)."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        #: Discord's per-field ``errors`` object of an "Invalid Form Body" answer.
        self.errors = errors


@dataclass
class InteractionRecord:
    """One interaction sent to the bot and everything the bot answered.

    ``callbacks`` are the raw callback bodies (``{"type": ..., "data": ...}``);
    ``original`` is the live original-response message (None before a type
    4/5/6/7 callback, or after it was deleted); ``followups`` the live
    followup messages; ``events`` every response step in order, as
    ``(kind, body)`` with kind in ``callback``, ``followup``, ``edit``,
    ``delete``.
    """

    id: int
    token: str
    type: int
    payload: JSON
    channel_id: int
    guild_id: int | None
    user_id: int
    command_type: int | None = None
    source_message_id: int | None = None
    callbacks: list[JSON] = field(default_factory=list)
    callback_files: list[list[UploadedFile]] = field(default_factory=list)
    original: JSON | None = None
    original_id: int | None = None
    followups: list[JSON] = field(default_factory=list)
    events: list[tuple[str, JSON]] = field(default_factory=list)
    modal: JSON | None = None
    autocomplete_choices: list[JSON] | None = None
    _fake: FakeDiscord | None = field(default=None, repr=False)

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def response_type(self) -> int | None:
        """Callback type of the first acknowledgement (4, 5, 6, 7, 8, 9), or None."""
        return int(self.callbacks[0]["type"]) if self.callbacks else None

    @property
    def deferred(self) -> bool:
        return self.response_type in (CB_DEFERRED_CHANNEL_MESSAGE, CB_DEFERRED_UPDATE_MESSAGE)

    @property
    def ephemeral(self) -> bool:
        """Whether the original response is ephemeral."""
        return self.original is not None and bool(self.original.get("flags", 0) & m.FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """True while a type 5 defer has not been completed by an edit or a followup."""
        return self.original is not None and bool(self.original.get("flags", 0) & m.FLAG_LOADING)

    @property
    def messages(self) -> list[JSON]:
        """Original response (if any) followed by distinct followups."""
        out: list[JSON] = []
        for msg in [self.original, *self.followups]:
            if msg is not None and all(msg is not o for o in out):
                out.append(msg)
        return out

    async def _wait(self, predicate: Callable[[], T | None], timeout: float, what: str) -> T:
        assert self._fake is not None
        return await self._fake.wait_until(predicate, timeout=timeout, what=f"{what} ({self!r})")

    async def wait_response(self, timeout: float = 5.0) -> JSON:
        """The first callback body ``{"type": t, "data": {...}}`` once the bot acknowledged."""
        return await self._wait(
            lambda: self.callbacks[0] if self.callbacks else None,
            timeout,
            "interaction callback",
        )

    async def wait_original(
        self,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 5.0,
    ) -> JSON:
        """The original response message, once it exists and (optionally) matches ``predicate``.

        Without a predicate this waits until it is no longer loading, i.e. a
        deferred response was completed.
        """

        def check() -> JSON | None:
            msg = self.original
            if msg is None:
                return None
            if predicate is None:
                return None if msg.get("flags", 0) & m.FLAG_LOADING else msg
            return msg if predicate(msg) else None

        return await self._wait(check, timeout, "original response")

    async def wait_followup(self, count: int = 1, timeout: float = 5.0) -> JSON:
        """The ``count``-th followup message (1-based)."""
        return await self._wait(
            lambda: self.followups[count - 1] if len(self.followups) >= count else None,
            timeout,
            f"followup #{count}",
        )

    async def wait_final(self, timeout: float = 5.0) -> JSON:
        """What the user ends up seeing: the completed original response or first followup."""

        def check() -> JSON | None:
            if self.original is not None and not self.original.get("flags", 0) & m.FLAG_LOADING:
                return self.original
            if self.followups:
                return self.followups[0]
            return None

        return await self._wait(check, timeout, "final response")

    def __repr__(self) -> str:
        name = (self.payload.get("data") or {}).get("name") or (self.payload.get("data") or {}).get(
            "custom_id"
        )
        return (
            f"<InteractionRecord id={self.id} type={self.type} name={name!r} "
            f"callbacks={[c.get('type') for c in self.callbacks]} followups={len(self.followups)}>"
        )


class InteractionManager:
    """Creates interaction payloads and handles the bot's callback/webhook requests."""

    def __init__(self, fake: FakeDiscord) -> None:
        self._fake = fake
        self.records: list[InteractionRecord] = []
        self._by_id: dict[int, InteractionRecord] = {}
        self._by_token: dict[str, InteractionRecord] = {}

    # --------------------------------------------------------------- create

    def create(
        self,
        *,
        itype: int,
        guild_id: int,
        channel_id: int,
        user_id: int,
        data: JSON,
        message: JSON | None = None,
        locale: str | None = None,
        command_type: int | None = None,
        permissions: int | None = None,
    ) -> InteractionRecord:
        """Build an INTERACTION_CREATE payload and its record (not yet dispatched).

        ``permissions`` overrides the member's computed channel permissions; ``locale`` is the
        language of the member's client (default: the user's ``locale``). Like Discord, the
        payload carries it as ``locale`` and the server's preferred locale as ``guild_locale``.
        """
        fake = self._fake
        guild = fake.state_guild(guild_id)
        if guild is None:
            raise KeyError(f"unknown guild {guild_id}")
        channel = guild.channels[channel_id]
        member = guild.members.get(user_id)
        if member is None:
            raise KeyError(f"user {user_id} is not a member of guild {guild_id}")
        iid = fake.snowflakes.next()
        token = f"itok_{iid}_{secrets.token_urlsafe(16)}"
        computed = guild.permissions_for(user_id, channel_id)
        perms = computed if permissions is None else permissions
        channel_payload = channel.to_payload()
        channel_payload["permissions"] = str(perms)
        payload: JSON = {
            "id": str(iid),
            "application_id": str(fake.application_id),
            "type": itype,
            "data": data,
            "guild_id": str(guild_id),
            "guild": {"id": str(guild_id), "locale": guild.locale, "features": []},
            "channel_id": str(channel_id),
            "channel": channel_payload,
            "member": member.to_payload(permissions=perms),
            "token": token,
            "version": 1,
            "app_permissions": str(guild.permissions_for(fake.bot_user.id, channel_id)),
            "locale": locale or member.user.locale,
            "guild_locale": guild.locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = m.public_copy(message)
        record = InteractionRecord(
            id=iid,
            token=token,
            type=itype,
            payload=payload,
            channel_id=channel_id,
            guild_id=guild_id,
            user_id=user_id,
            command_type=command_type,
            source_message_id=int(message["id"]) if message is not None else None,
            _fake=fake,
        )
        self.records.append(record)
        self._by_id[iid] = record
        self._by_token[token] = record
        return record

    # ------------------------------------------------------------- callback

    def callback(
        self,
        interaction_id: int,
        token: str,
        body: JSON,
        files: list[UploadedFile],
        *,
        with_response: bool,
    ) -> JSON | None:
        """Handle ``POST /interactions/{id}/{token}/callback``."""
        record = self._by_id.get(interaction_id)
        if record is None or record.token != token:
            raise FakeDiscordError(404, 10062, "Unknown interaction")
        if record.callbacks:
            raise FakeDiscordError(400, 40060, "Interaction has already been acknowledged.")
        cb_type = int(body.get("type", 0))
        data: JSON = body.get("data") or {}
        fake = self._fake
        if cb_type in (CB_CHANNEL_MESSAGE, CB_DEFERRED_CHANNEL_MESSAGE):
            ephemeral = bool(int(data.get("flags") or 0) & m.FLAG_EPHEMERAL)
            if cb_type == CB_DEFERRED_CHANNEL_MESSAGE:
                msg = fake.messaging.new_bot_message(
                    record.channel_id,
                    {
                        "content": "",
                        "flags": m.FLAG_LOADING | (m.FLAG_EPHEMERAL if ephemeral else 0),
                    },
                    [],
                    interaction=record,
                )
            else:
                fake.messaging.validate_body(data, files)
                msg = fake.messaging.new_bot_message(
                    record.channel_id, data, files, interaction=record
                )
            record.original = msg
            record.original_id = int(msg["id"])
            fake.messaging.publish_new(msg, visible=not ephemeral)
        elif cb_type in (CB_DEFERRED_UPDATE_MESSAGE, CB_UPDATE_MESSAGE):
            if record.source_message_id is None:
                raise FakeDiscordError(400, 40004, "Interaction is not from a message component")
            source = fake.store.get(record.source_message_id)
            if source is None:
                raise FakeDiscordError(404, 10008, "Unknown Message")
            if cb_type == CB_UPDATE_MESSAGE:
                fake.messaging.apply_edit(source, data, files)
            record.original = source
            record.original_id = int(source["id"])
        elif cb_type == CB_MODAL:
            record.modal = data
        elif cb_type == CB_AUTOCOMPLETE_RESULT:
            record.autocomplete_choices = list(data.get("choices") or [])
        elif cb_type != CB_PONG:
            raise FakeDiscordError(400, 50035, f"Invalid interaction callback type {cb_type}")
        record.callbacks.append(body)
        record.callback_files.append(files)
        record.events.append(("callback", body))
        fake._notify()
        if not with_response:
            return None
        response: JSON = {
            "interaction": {
                "id": str(record.id),
                "type": record.type,
                "activity_instance_id": None,
                "response_message_id": str(record.original_id) if record.original_id else None,
                "response_message_loading": cb_type == CB_DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": record.ephemeral,
            },
            "resource": {"type": cb_type},
        }
        if record.original is not None and cb_type != CB_DEFERRED_UPDATE_MESSAGE:
            response["resource"]["message"] = m.public_copy(record.original)
        return response

    # -------------------------------------------------------------- webhooks

    def _record_for_webhook(self, application_id: int, token: str) -> InteractionRecord:
        record = self._by_token.get(token)
        if record is None or application_id != self._fake.application_id:
            raise FakeDiscordError(404, 10015, "Unknown Webhook")
        if not record.callbacks:
            raise FakeDiscordError(404, 10015, "Unknown Webhook")
        return record

    def execute(
        self, application_id: int, token: str, body: JSON, files: list[UploadedFile]
    ) -> JSON:
        """Handle a followup ``POST /webhooks/{app}/{token}``; returns the message."""
        record = self._record_for_webhook(application_id, token)
        fake = self._fake
        fake.messaging.validate_body(body, files)
        if record.loading and record.original is not None and not record.followups:
            # Discord: the first followup after a defer completes the "thinking" message,
            # which keeps the defer's ephemeral flag.
            msg = record.original
            fake.messaging.apply_edit(msg, body, files, mark_edited=False, clear_loading=True)
        else:
            msg = fake.messaging.new_bot_message(record.channel_id, body, files, interaction=record)
            ephemeral = bool(msg.get("flags", 0) & m.FLAG_EPHEMERAL)
            fake.messaging.publish_new(msg, visible=not ephemeral)
        record.followups.append(msg)
        record.events.append(("followup", body))
        fake._notify()
        return msg

    def _target(self, record: InteractionRecord, message_id: str) -> JSON:
        if message_id == "@original":
            if record.original is None:
                raise FakeDiscordError(404, 10008, "Unknown Message")
            return record.original
        for msg in record.messages:
            if msg["id"] == str(message_id):
                return msg
        raise FakeDiscordError(404, 10008, "Unknown Message")

    def get_message(self, application_id: int, token: str, message_id: str) -> JSON:
        record = self._record_for_webhook(application_id, token)
        return self._target(record, message_id)

    def edit_message(
        self,
        application_id: int,
        token: str,
        message_id: str,
        body: JSON,
        files: list[UploadedFile],
    ) -> JSON:
        """Handle ``PATCH /webhooks/{app}/{token}/messages/{id|@original}``."""
        record = self._record_for_webhook(application_id, token)
        msg = self._target(record, message_id)
        was_loading = bool(msg.get("flags", 0) & m.FLAG_LOADING)
        self._fake.messaging.apply_edit(
            msg, body, files, mark_edited=not was_loading, clear_loading=was_loading
        )
        record.events.append(("edit", {"message_id": message_id, **body}))
        self._fake._notify()
        return msg

    def delete_message(self, application_id: int, token: str, message_id: str) -> None:
        """Handle ``DELETE /webhooks/{app}/{token}/messages/{id|@original}``."""
        record = self._record_for_webhook(application_id, token)
        msg = self._target(record, message_id)
        self._fake.messaging.delete(msg)
        if record.original is msg:
            record.original = None
        record.events.append(("delete", {"message_id": message_id}))
        self._fake._notify()

    # ---------------------------------------------------------------- lookup

    def get(self, interaction_id: int) -> InteractionRecord | None:
        return self._by_id.get(interaction_id)

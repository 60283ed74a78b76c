"""Creating, editing and deleting messages (and their attachments) the way Discord does.

Used by the REST routes (the bot's messages), the interaction manager
(responses and followups) and the test API (users' messages). Every change
is dispatched on the gateway (MESSAGE_CREATE/UPDATE/DELETE) when the bot can
see the channel, with content stripped for sessions lacking the
MESSAGE_CONTENT intent, like on Discord.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

from . import messages as m
from . import permissions as perm
from .gateway import INTENT_GUILD_MESSAGES, INTENT_MESSAGE_CONTENT, GatewaySession
from .interactions import (
    CHAT_INPUT,
    MESSAGE_COMMAND,
    USER_COMMAND,
    FakeDiscordError,
    InteractionRecord,
)
from .messages import Blob, UploadedFile
from .snowflake import iso_timestamp, now_iso
from .state import JSON, Channel, Guild, User

if TYPE_CHECKING:
    from .fake import FakeDiscord

MAX_CONTENT = 2000
MAX_EMBEDS = 10


class Messaging:
    """Message operations shared by the REST routes, interactions and the test API."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def bot_can_view(self, channel_id: int) -> bool:
        """Whether the bot has VIEW_CHANNEL (Discord only sends it events of such channels)."""
        return bool(self.fake.bot_permissions(channel_id) & perm.VIEW_CHANNEL)

    def store_attachment(
        self,
        channel_id: int,
        filename: str,
        data: bytes,
        content_type: str | None = None,
        *,
        description: str | None = None,
        ephemeral: bool = False,
    ) -> JSON:
        """Put bytes on the fake CDN and return the attachment object."""
        aid = self.fake.snowflakes.next()
        ctype = content_type or m.guess_content_type(filename, data)
        self.fake.store.blobs[aid] = Blob(filename=filename, content_type=ctype, data=data)
        tail = f"attachments/{channel_id}/{aid}/{quote(filename)}"
        size = m.image_size(data)
        attachment: JSON = {
            "id": str(aid),
            "filename": filename,
            "size": len(data),
            "url": f"{self.fake.base_url}/{tail}",
            "proxy_url": f"{self.fake.base_url}/media/{tail}",
            "content_type": ctype,
            "width": size[0] if size else None,
            "height": size[1] if size else None,
            "flags": 0,
        }
        if description is not None:
            attachment["description"] = description
        if ephemeral:
            attachment["ephemeral"] = True
        return attachment

    def attachments_from_request(
        self,
        channel_id: int,
        requested: list[JSON] | None,
        files: list[UploadedFile],
        existing: list[JSON],
    ) -> list[JSON]:
        """Attachment list from a request's ``attachments`` field and uploaded ``files[n]``."""
        by_index: dict[str, UploadedFile] = {}
        for position, upload in enumerate(files):
            key = upload.field
            if key.startswith("files[") and key.endswith("]"):
                by_index[key[6:-1]] = upload
            else:
                by_index[str(position)] = upload
        used: set[str] = set()
        out: list[JSON] = []
        old = {a["id"]: a for a in existing}
        for entry in requested or []:
            key = str(entry.get("id"))
            if key in by_index and key not in used:
                upload = by_index[key]
                used.add(key)
                out.append(
                    self.store_attachment(
                        channel_id,
                        entry.get("filename") or upload.filename,
                        upload.data,
                        description=entry.get("description"),
                    )
                )
            elif key in old:
                out.append(old[key])
        for key, upload in by_index.items():
            if key not in used:
                out.append(self.store_attachment(channel_id, upload.filename, upload.data))
        return out

    def validate_body(self, body: JSON, files: list[UploadedFile]) -> None:
        """Discord's 400s for empty messages and too long content / too many embeds."""
        content = body.get("content") or ""
        if len(content) > MAX_CONTENT:
            raise FakeDiscordError(
                400, 50035, "Invalid Form Body (content: Must be 2000 or fewer in length.)"
            )
        embeds = body.get("embeds") or []
        if len(embeds) > MAX_EMBEDS:
            raise FakeDiscordError(
                400, 50035, "Invalid Form Body (embeds: Must be 10 or fewer in length.)"
            )
        if not (
            content
            or embeds
            or files
            or body.get("attachments")
            or body.get("components")
            or body.get("sticker_ids")
            or body.get("poll")
        ):
            raise FakeDiscordError(400, 50006, "Cannot send an empty message")

    def mentions(self, guild: Guild, content: str) -> tuple[list[JSON], list[str]]:
        """``mentions`` (users with partial member) and ``mention_roles`` parsed from content."""
        users: list[JSON] = []
        for uid in m.mentioned_user_ids(content):
            user = self.fake.users.get(uid)
            if user is None:
                continue
            payload = user.to_payload()
            member = guild.members.get(uid)
            if member is not None:
                payload["member"] = member.to_payload(with_user=False)
            users.append(payload)
        roles = [str(r) for r in m.mentioned_role_ids(content) if r in guild.roles]
        return users, roles

    def build(
        self,
        channel: Channel,
        author: User,
        *,
        content: str = "",
        embeds: Sequence[JSON] = (),
        components: Sequence[JSON] = (),
        attachments: Sequence[JSON] = (),
        reference: JSON | None = None,
        mtype: int = m.TYPE_DEFAULT,
        flags: int = 0,
        webhook_id: int | None = None,
        interaction_metadata: JSON | None = None,
        tts: bool = False,
        posted_at: datetime.datetime | None = None,
    ) -> JSON:
        """A new message dict (not stored yet); a reply gets type 19 and ``referenced_message``.

        ``posted_at``: a moment in the past (history posted before the test).
        """
        mid = (
            self.fake.snowflakes.next() if posted_at is None else self.fake.snowflakes.at(posted_at)
        )
        guild = self.fake.guilds[channel.guild_id]
        mentions, mention_roles = self.mentions(guild, content)
        msg: JSON = {
            "id": str(mid),
            "channel_id": str(channel.id),
            "guild_id": str(guild.id),
            "author": author.to_payload(),
            "content": content,
            "timestamp": now_iso() if posted_at is None else iso_timestamp(mid),
            "edited_timestamp": None,
            "tts": tts,
            "mention_everyone": "@everyone" in content or "@here" in content,
            "mentions": mentions,
            "mention_roles": mention_roles,
            "attachments": list(attachments),
            "embeds": [{"type": "rich", **e} for e in embeds],
            "pinned": False,
            "type": mtype,
            "flags": flags,
            "components": list(components),
        }
        if webhook_id is not None:
            msg["webhook_id"] = str(webhook_id)
            msg["application_id"] = str(self.fake.application_id)
        if reference is not None:
            ref_id = int(reference["message_id"])
            referenced = self.fake.store.get(ref_id)
            msg["message_reference"] = {
                "type": int(reference.get("type", 0)),
                "message_id": str(ref_id),
                "channel_id": str(reference.get("channel_id") or channel.id),
                "guild_id": str(reference.get("guild_id") or guild.id),
            }
            if int(reference.get("type", 0)) == 0:
                msg["type"] = m.TYPE_REPLY if mtype == m.TYPE_DEFAULT else mtype
            msg["referenced_message"] = m.public_copy(referenced) if referenced else None
            if referenced is not None:
                msg["referenced_message"].pop("referenced_message", None)
        if interaction_metadata is not None:
            msg["interaction_metadata"] = interaction_metadata
        channel.last_message_id = mid
        channel.message_count += 1
        return msg

    def gateway_payload(self, msg: JSON) -> Callable[[GatewaySession], JSON]:
        """MESSAGE_CREATE/UPDATE payload per session (content stripped without the intent)."""
        payload = m.public_copy(msg)
        guild = self.fake.guilds.get(int(msg["guild_id"]))
        author_id = int(msg["author"]["id"])
        if guild is not None and "webhook_id" not in msg and author_id in guild.members:
            payload["member"] = guild.members[author_id].to_payload(with_user=False)
        mentioned = any(int(u["id"]) == self.fake.bot_user.id for u in msg.get("mentions", []))
        privileged = author_id == self.fake.bot_user.id or mentioned
        stripped = m.strip_content(payload)

        def render(session: GatewaySession) -> JSON:
            if privileged or session.intents & INTENT_MESSAGE_CONTENT:
                return payload
            return stripped

        return render

    def publish_new(self, msg: JSON, *, visible: bool = True) -> None:
        """Dispatch MESSAGE_CREATE for a stored message (not for ephemeral ones)."""
        channel_id = int(msg["channel_id"])
        if visible and self.bot_can_view(channel_id):
            self.fake.gateway.dispatch(
                "MESSAGE_CREATE", self.gateway_payload(msg), intent=INTENT_GUILD_MESSAGES
            )
        self.fake._notify()

    def new_bot_message(
        self,
        channel_id: int,
        body: JSON,
        files: list[UploadedFile],
        *,
        interaction: InteractionRecord | None = None,
    ) -> JSON:
        """Create and store a message authored by the bot from a REST/webhook body."""
        channel = self.fake.channel(channel_id)
        flags = int(body.get("flags") or 0)
        ephemeral = bool(flags & m.FLAG_EPHEMERAL)
        reference = body.get("message_reference")
        if reference is not None and reference.get("message_id") is not None:
            if self.fake.store.get(int(reference["message_id"])) is None:
                if reference.get("fail_if_not_exists", True):
                    raise FakeDiscordError(
                        400, 50035, "Invalid Form Body (message_reference: Unknown message)"
                    )
                reference = None
        else:
            reference = None
        mtype = m.TYPE_DEFAULT
        metadata = None
        webhook_id = None
        if interaction is not None:
            webhook_id = self.fake.application_id
            if interaction.command_type == CHAT_INPUT:
                mtype = m.TYPE_CHAT_INPUT_COMMAND
            elif interaction.command_type in (USER_COMMAND, MESSAGE_COMMAND):
                mtype = m.TYPE_CONTEXT_MENU_COMMAND
            user = self.fake.users[interaction.user_id]
            metadata = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": user.to_payload(),
                "authorizing_integration_owners": {"0": str(channel.guild_id)},
            }
            if interaction.original_id is not None:
                metadata["original_response_message_id"] = str(interaction.original_id)
            if interaction.source_message_id is not None:
                metadata["interacted_message_id"] = str(interaction.source_message_id)
        attachments = self.attachments_from_request(channel_id, body.get("attachments"), files, [])
        msg = self.build(
            channel,
            self.fake.bot_user,
            content=body.get("content") or "",
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            attachments=attachments,
            reference=reference,
            mtype=mtype,
            flags=flags & (m.FLAG_EPHEMERAL | m.FLAG_LOADING | m.FLAG_SUPPRESS_EMBEDS),
            webhook_id=webhook_id,
            interaction_metadata=metadata,
            tts=bool(body.get("tts")),
        )
        self.fake.store.add(msg, in_channel=not ephemeral)
        return msg

    def apply_edit(
        self,
        msg: JSON,
        body: JSON,
        files: list[UploadedFile],
        *,
        mark_edited: bool = True,
        clear_loading: bool = False,
    ) -> None:
        """Apply a PATCH body to a live message and dispatch MESSAGE_UPDATE if visible.

        ``clear_loading`` completes a deferred ("thinking") interaction response.
        """
        if "content" in body:
            msg["content"] = body["content"] or ""
            guild = self.fake.guilds[int(msg["guild_id"])]
            msg["mentions"], msg["mention_roles"] = self.mentions(guild, msg["content"])
        if "embeds" in body:
            msg["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "components" in body:
            msg["components"] = list(body["components"] or [])
        if "attachments" in body or files:
            msg["attachments"] = self.attachments_from_request(
                int(msg["channel_id"]),
                body.get("attachments") if "attachments" in body else list(msg["attachments"]),
                files,
                msg["attachments"],
            )
        if body.get("flags") is not None:
            keep = int(msg.get("flags", 0)) & (m.FLAG_EPHEMERAL | m.FLAG_LOADING)
            msg["flags"] = keep | (int(body["flags"]) & m.FLAG_SUPPRESS_EMBEDS)
        if clear_loading:
            msg["flags"] = int(msg.get("flags", 0)) & ~m.FLAG_LOADING
        if mark_edited:
            msg["edited_timestamp"] = now_iso()
        channel_id = int(msg["channel_id"])
        if not msg.get("flags", 0) & m.FLAG_EPHEMERAL and self.bot_can_view(channel_id):
            self.fake.gateway.dispatch(
                "MESSAGE_UPDATE", self.gateway_payload(msg), intent=INTENT_GUILD_MESSAGES
            )
        self.fake._notify()

    def delete(self, msg: JSON) -> None:
        """Remove a message from the store and dispatch MESSAGE_DELETE if visible."""
        mid = int(msg["id"])
        channel_id = int(msg["channel_id"])
        self.fake.store.remove(mid)
        if not msg.get("flags", 0) & m.FLAG_EPHEMERAL and self.bot_can_view(channel_id):
            self.fake.gateway.dispatch(
                "MESSAGE_DELETE",
                {"id": str(mid), "channel_id": str(channel_id), "guild_id": msg["guild_id"]},
                intent=INTENT_GUILD_MESSAGES,
            )
        self.fake._notify()

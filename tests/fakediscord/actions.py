"""User-side actions of the test API: messages, deletions, reactions, guild removal.

A mixin of :class:`~.fake.FakeDiscord`; every action updates the fake's
state and dispatches the gateway event Discord would send.
"""

from __future__ import annotations

import asyncio
import datetime
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from . import messages as m
from .gateway import INTENT_GUILD_MESSAGE_REACTIONS, INTENT_GUILD_MESSAGES, INTENT_GUILDS, Gateway
from .snowflake import SnowflakeFactory
from .state import JSON, Channel, Guild, User

if TYPE_CHECKING:
    from .messaging import Messaging

AttachmentSpec = tuple[str, bytes] | tuple[str, bytes, str]

#: GIF sites Discord unfurls as "gifv" embeds: host -> (provider, where the media lives).
GIF_SITES: dict[str, tuple[JSON, str]] = {
    "tenor.com": ({"name": "Tenor", "url": "https://tenor.co"}, "https://media.tenor.com"),
    "giphy.com": ({"name": "GIPHY", "url": "https://giphy.com/"}, "https://media.giphy.com"),
}


class UserActions:
    """What users (and Discord itself) do: post, edit, delete, react, remove channels/guilds."""

    if TYPE_CHECKING:  # provided by FakeDiscord
        guilds: dict[int, Guild]
        users: dict[int, User]
        store: m.MessageStore
        gateway: Gateway
        messaging: Messaging
        gif_links: dict[str, tuple[bytes, bytes]]
        bot_user: User
        snowflakes: SnowflakeFactory
        _channel_guild: dict[int, int]

        def guild(self, guild: object) -> Guild: ...
        def channel(self, channel: object) -> Channel: ...
        def _notify(self) -> None: ...
        def _user(self, user: object) -> User: ...
        def _message_in(self, channel: object, message: object) -> JSON: ...

    async def post_message(
        self,
        channel: object,
        author: object,
        content: str = "",
        *,
        attachments: Sequence[AttachmentSpec | JSON] = (),
        embeds: Sequence[JSON] = (),
        reply_to: object | None = None,
        flags: int = 0,
        posted_at: datetime.datetime | None = None,
    ) -> JSON:
        """A user posts a message: stored and dispatched as MESSAGE_CREATE; returns the live dict.

        ``attachments`` are ``(filename, bytes)`` / ``(filename, bytes, content_type)``
        tuples (uploaded to the fake CDN) or ready attachment dicts. ``posted_at`` dates
        it in the past (history from before the test; its id carries that time).
        """
        ch = self.channel(channel)
        user = self._user(author)
        stored: list[JSON] = []
        for spec in attachments:
            if isinstance(spec, dict):
                stored.append(spec)
            else:
                filename, data, *rest = spec
                stored.append(
                    self.messaging.store_attachment(
                        ch.id, filename, data, rest[0] if rest else None
                    )
                )
        reference = None
        if reply_to is not None:
            reference = {"message_id": m.as_message_id(reply_to), "channel_id": ch.id, "type": 0}
        msg = self.messaging.build(
            ch,
            user,
            content=content,
            embeds=embeds,
            attachments=stored,
            reference=reference,
            flags=flags,
            posted_at=posted_at,
        )
        self.store.add(msg)
        self.messaging.publish_new(msg)
        await asyncio.sleep(0)
        previews = [
            self.gifv_preview(ch, link, *media)
            for link, media in self.gif_links.items()
            if _links_to(content, link)
        ]
        if previews and not flags & m.FLAG_SUPPRESS_EMBEDS:
            await self.unfurl(ch, msg, previews)
        return msg

    async def edit_message(
        self,
        channel: object,
        message: object,
        *,
        content: str | None = None,
        embeds: Sequence[JSON] | None = None,
        keep_attachments: Sequence[object] | None = None,
        suppress_embeds: bool | None = None,
    ) -> JSON:
        """A user edits their message (MESSAGE_UPDATE with the full message).

        ``keep_attachments`` (attachment dicts or ids) removes every other attachment, as
        the client's edit box does; users cannot add attachments to a sent message.
        ``suppress_embeds`` hides (or shows again) the link previews (SUPPRESS_EMBEDS).
        """
        msg = self._message_in(channel, message)
        body: JSON = {}
        if content is not None:
            body["content"] = content
        if embeds is not None:
            body["embeds"] = list(embeds)
        if keep_attachments is not None:
            kept = {str(m.as_message_id(a)) for a in keep_attachments}
            body["attachments"] = [{"id": a["id"]} for a in msg["attachments"] if a["id"] in kept]
        if suppress_embeds is not None:
            flags = int(msg.get("flags", 0)) & ~m.FLAG_SUPPRESS_EMBEDS
            body["flags"] = flags | (m.FLAG_SUPPRESS_EMBEDS if suppress_embeds else 0)
            if suppress_embeds:
                body["embeds"] = []  # Discord drops the previews; unsuppressing unfurls again
        self.messaging.apply_edit(msg, body, [])
        await asyncio.sleep(0)
        return msg

    def link_preview(self, channel: object, link: str, filename: str, data: bytes) -> JSON:
        """The embed Discord unfurls from a link to an image: type "image", the picture as a
        thumbnail served by the media proxy (``proxy_url``)."""
        blob = self.messaging.store_attachment(self.channel(channel).id, filename, data)
        return {
            "type": "image",
            "url": link,
            "thumbnail": {
                "url": link,
                "proxy_url": blob["proxy_url"],
                "width": blob["width"],
                "height": blob["height"],
                "flags": 0,
            },
        }

    def add_gif(self, link: str, video: bytes, still: bytes) -> None:
        """A GIF on a GIF site (``https://tenor.com/view/...``, ``https://giphy.com/gifs/...``):
        a message linking to it is unfurled a moment after it is posted, as Discord does,
        with :meth:`gifv_preview`. ``video`` is the site's looping MP4, ``still`` its first
        frame (the embed's thumbnail)."""
        if urlsplit(link).hostname not in GIF_SITES:
            raise ValueError(f"not a GIF site Discord unfurls as gifv: {link}")
        self.gif_links[link] = (video, still)

    def gifv_preview(self, channel: object, link: str, video: bytes, still: bytes) -> JSON:
        """The embed Discord unfurls from a GIF-site link: type "gifv", the site as provider,
        the still as thumbnail and the MP4 as video, each with its media-proxy ``proxy_url``
        and the clip's size. Discord plays the video in a loop; the thumbnail is its poster."""
        provider, media = GIF_SITES[urlsplit(link).hostname or ""]
        name = link.rstrip("/").rsplit("/", 1)[-1] or "gif"
        ch = self.channel(channel)
        movie = self.messaging.store_attachment(ch.id, f"{name}.mp4", video, "video/mp4")
        poster = self.messaging.store_attachment(ch.id, f"{name}.png", still)
        size = {"width": poster["width"], "height": poster["height"]}
        return {
            "type": "gifv",
            "url": link,
            "provider": dict(provider),
            "thumbnail": {
                "url": f"{media}/{movie['id']}/{name}.png",
                "proxy_url": poster["proxy_url"],
                **size,
                "flags": 0,
            },
            "video": {
                "url": f"{media}/{movie['id']}/{name}.mp4",
                "proxy_url": movie["proxy_url"],
                **size,
                "flags": 0,
            },
        }

    async def unfurl(self, channel: object, message: object, embeds: Sequence[JSON]) -> JSON:
        """Discord adds link previews to a posted message: a MESSAGE_UPDATE carrying the
        whole message with its new embeds, not marked as edited (``edited_timestamp`` stays)."""
        msg = self._message_in(channel, message)
        self.messaging.apply_edit(msg, {"embeds": [*msg["embeds"], *embeds]}, [], mark_edited=False)
        await asyncio.sleep(0)
        return msg

    async def delete_message(self, channel: object, message: object) -> None:
        """A message is deleted (MESSAGE_DELETE)."""
        self.messaging.delete(self._message_in(channel, message))
        await asyncio.sleep(0)

    async def bulk_delete(self, channel: object, messages: Iterable[object]) -> None:
        """Several messages are deleted at once (MESSAGE_DELETE_BULK)."""
        ch = self.channel(channel)
        ids = [m.as_message_id(x) for x in messages]
        for mid in ids:
            self.store.remove(mid)
        if self.messaging.bot_can_view(ch.id):
            self.gateway.dispatch(
                "MESSAGE_DELETE_BULK",
                {
                    "ids": [str(i) for i in ids],
                    "channel_id": str(ch.id),
                    "guild_id": str(ch.guild_id),
                },
                intent=INTENT_GUILD_MESSAGES,
            )
        self._notify()
        await asyncio.sleep(0)

    async def delete_channel(self, channel: object) -> None:
        """A channel (and its threads and messages) is deleted: CHANNEL_DELETE / THREAD_DELETE."""
        ch = self.channel(channel)
        g = self.guilds[ch.guild_id]
        doomed = [ch, *[c for c in g.channels.values() if c.is_thread and c.parent_id == ch.id]]
        for c in doomed:
            g.channels.pop(c.id, None)
            self._channel_guild.pop(c.id, None)
            self.store.remove_channel(c.id)
        if ch.is_thread:
            self.gateway.dispatch(
                "THREAD_DELETE",
                {
                    "id": str(ch.id),
                    "guild_id": str(g.id),
                    "parent_id": str(ch.parent_id),
                    "type": ch.type,
                },
                intent=INTENT_GUILDS,
            )
        else:
            self.gateway.dispatch("CHANNEL_DELETE", ch.to_payload(), intent=INTENT_GUILDS)
        self._notify()
        await asyncio.sleep(0)

    async def remove_guild(self, guild: object, *, unavailable: bool = False) -> None:
        """GUILD_DELETE: the bot left or was kicked (guild forgotten), or an outage.

        With ``unavailable=True`` the guild stays and discord.py sees an outage.
        """
        g = self.guild(guild)
        payload: JSON = {"id": str(g.id)}
        if unavailable:
            payload["unavailable"] = True
        else:
            del self.guilds[g.id]
            for cid in g.channels:
                self._channel_guild.pop(cid, None)
        self.gateway.dispatch("GUILD_DELETE", payload, intent=INTENT_GUILDS)
        self._notify()
        await asyncio.sleep(0)

    async def add_reaction(
        self, channel: object, message: object, user: object, emoji: str
    ) -> None:
        """A user reacts to a message (MESSAGE_REACTION_ADD)."""
        msg = self._message_in(channel, message)
        u = self._user(user)
        key = m.normalize_emoji(emoji)
        self.store.add_reaction(int(msg["id"]), key, u.id)
        self.store.render_reactions(int(msg["id"]), self.bot_user.id)
        guild = self.guilds[int(msg["guild_id"])]
        payload: JSON = {
            "user_id": str(u.id),
            "channel_id": msg["channel_id"],
            "message_id": msg["id"],
            "guild_id": msg["guild_id"],
            "emoji": m.emoji_payload(key),
            "message_author_id": msg["author"]["id"],
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        if u.id in guild.members:
            payload["member"] = guild.members[u.id].to_payload()
        if self.messaging.bot_can_view(int(msg["channel_id"])):
            self.gateway.dispatch(
                "MESSAGE_REACTION_ADD", payload, intent=INTENT_GUILD_MESSAGE_REACTIONS
            )
        self._notify()
        await asyncio.sleep(0)


def _links_to(content: str, link: str) -> bool:
    """Whether ``content`` holds ``link`` as a link Discord previews (not inside ``<...>``)."""
    for found in re.finditer(re.escape(link) + r"(?=$|[\s>])", content):
        if not (content[: found.start()].endswith("<") and content[found.end() :].startswith(">")):
            return True
    return False

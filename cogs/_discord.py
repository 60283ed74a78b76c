"""Discord glue shared by the cogs: who may read what, message links, texts, embeds."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

import discord

from bot import i18n
from bot.client import SeenitBot
from bot.fetch import FetchError
from bot.gaps import Exists
from bot.hashing import ImageError
from bot.matching import Match

#: An interaction with seenit's client: ``interaction.client`` is the SeenitBot.
Interaction = discord.Interaction[SeenitBot]

log = logging.getLogger(__name__)

COLOUR = discord.Colour(0x5865F2)
ALERT_COLOUR = discord.Colour(0xF0B232)
MESSAGE_LINK = re.compile(r"https?://(?:\w+\.)?discord(?:app)?\.com/channels/(\d+|@me)/(\d+)/(\d+)")
#: Discord's limits, in characters, on a message's content, an embed's description and
#: one embed field's value.
MESSAGE_CONTENT_LIMIT = 2000
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_LIMIT = 1024


def can_view(
    member: discord.Member, guild: discord.Guild, channel_id: int, *, here: int | None = None
) -> bool:
    """Whether a member may read a channel (or thread) of the guild, asked from channel ``here``.

    A private thread is open to its members and to those with Manage Threads; the member list
    needs a privileged intent, so it is shown only to the latter, or inside that thread.
    """
    channel = guild.get_channel_or_thread(channel_id)
    if channel is None:
        return False
    # Thread.permissions_for is the parent's and ignores thread membership.
    permissions = channel.permissions_for(member)
    if (
        isinstance(channel, discord.Thread)
        and channel.type == discord.ChannelType.private_thread
        and channel_id != here
        and not permissions.manage_threads
    ):
        return False
    return permissions.view_channel and permissions.read_message_history


def visible_to(
    member: discord.Member,
    guild: discord.Guild,
    matches: Sequence[Match],
    *,
    here: int | None = None,
) -> list[Match]:
    """Matches the member may see; filtered before any cut so hidden ones take no place."""
    seen: dict[int, bool] = {}
    kept = []
    for m in matches:
        channel_id = m.image.channel_id
        if channel_id not in seen:
            seen[channel_id] = can_view(member, guild, channel_id, here=here)
        if seen[channel_id]:
            kept.append(m)
    return kept


def parse_message_ref(text: str) -> tuple[int | None, int | None, int] | None:
    """A message link or bare id -> (guild id, channel id, message id)."""
    text = text.strip()
    found = MESSAGE_LINK.search(text)
    if found:
        guild = None if found.group(1) == "@me" else int(found.group(1))
        return guild, int(found.group(2)), int(found.group(3))
    if text.isdigit():
        return None, None, int(text)
    return None


def is_url(text: str) -> bool:
    parts = urlsplit(text.strip())
    return bool(parts.scheme and parts.netloc)


def user_texts(interaction: discord.Interaction) -> i18n.Texts:
    """Words for the member who used a command or pressed a button, in their client's language."""
    return i18n.texts(interaction.locale.value)


def guild_texts(guild: discord.Guild | None) -> i18n.Texts:
    """Words for a post everyone in a server reads (alerts, progress): the server's language."""
    return i18n.texts(guild.preferred_locale.value if guild is not None else i18n.DEFAULT_LOCALE)


def reason_text(error: Exception, t: i18n.Texts) -> str:
    """Why a download or an image failed, in the reader's language."""
    if isinstance(error, FetchError) and error.code:
        key, values = f"reason.fetch.{error.code}", error.values
    elif isinstance(error, ImageError):
        key, values = f"reason.image.{type(error).__name__}", {}
        if not t.has(key):
            return error.reason
    else:
        return str(error)
    return t(key, **values) if t.has(key) else str(error)


def embed(title: str, description: str, *, colour: discord.Colour = COLOUR) -> discord.Embed:
    return discord.Embed(
        title=title, description=description[:EMBED_DESCRIPTION_LIMIT], colour=colour
    )


#: Discord's JSON error codes for a message or channel that no longer exists.
GONE_CODES = frozenset({10003, 10008})


def message_checker(guild: discord.Guild) -> Exists:
    """Asks Discord whether a message still exists: True, False (404) or None (cannot tell)."""

    async def exists(channel_id: int, message_id: int) -> bool | None:
        channel = guild.get_channel_or_thread(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return None
        try:
            await channel.fetch_message(message_id)
        except discord.NotFound as exc:
            # Only Discord's "Unknown Message" / "Unknown Channel" say it is gone; any other
            # 404 (a proxy, an unknown route) says nothing about the message.
            return False if exc.code in GONE_CODES else None
        except discord.HTTPException:
            return None
        return True

    return exists


class Refusal(Exception):
    """Something the member asked for that cannot be done: a message id and its values.

    A value that is an exception (a failed download, an unreadable image) is told as its
    reason, in the member's language.
    """

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

    def text(self, t: i18n.Texts) -> str:
        values = {
            k: reason_text(v, t) if isinstance(v, Exception) else v for k, v in self.values.items()
        }
        return t(self.key, **values)

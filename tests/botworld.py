"""A guild in the fake Discord with seenit running against it: the end-to-end test world."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bot.client import SeenitBot
from bot.config import Config
from bot.fetch import Fetcher
from bot.hashing_pool import Hasher
from bot.service import SeenService
from bot.store import open_store
from tests.fakediscord import Channel, FakeDiscord, Guild, Member, Overwrite, running_bot
from tests.fakediscord import permissions as perms
from tests.support import buttons

JSON = dict[str, Any]


@dataclass
class World:
    fake: FakeDiscord
    guild: Guild
    general: Channel
    memes: Channel
    staff: Channel
    alice: Member
    bob: Member
    carol: Member
    mod: Member
    db_url: str
    bots: list[SeenitBot] = field(default_factory=list)

    @property
    def bot(self) -> SeenitBot:
        return self.bots[-1]

    async def post(self, channel: Channel, author: Member, *files: tuple[str, bytes]) -> JSON:
        return await self.fake.post_message(channel, author, attachments=list(files))

    async def settled(self, images: int, wait: float = 10.0) -> None:
        """Wait until the bot has stored this many images of the guild."""
        store = self.bot.service.store
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while await store.count_images(self.guild.id) != images:
            if loop.time() > deadline:
                have = await store.count_images(self.guild.id)
                raise TimeoutError(f"expected {images} stored images, have {have}")
            await asyncio.sleep(0.02)

    async def idle(self, wait: float = 10.0) -> None:
        """Wait until no event handler of the bot is running: every message and event it has
        received is fully handled, alerts included. What has not happened by then will not.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        # discord.py runs each listener call as a task named after its event.
        while any(t.get_name().startswith("discord.py: ") for t in asyncio.all_tasks()):
            if loop.time() > deadline:
                raise TimeoutError("the bot is still handling events")
            await asyncio.sleep(0.02)


def build_world(fake: FakeDiscord, db_url: str) -> World:
    guild = fake.add_guild("Cats and Rockets")
    category = fake.add_category(guild, "chat")
    general = fake.add_text_channel(guild, "general", parent_id=category)
    memes = fake.add_text_channel(guild, "memes", parent_id=category)
    staff = fake.add_text_channel(
        guild, "staff", overwrites=[Overwrite.for_role(guild.id, deny=perms.VIEW_CHANNEL)]
    )
    mods = fake.add_role(guild, "mods", perms.MANAGE_GUILD | perms.MANAGE_MESSAGES)
    fake.set_overwrites(
        staff,
        [
            Overwrite.for_role(guild.id, deny=perms.VIEW_CHANNEL),
            Overwrite.for_role(mods.id, allow=perms.VIEW_CHANNEL),
            Overwrite.for_role(fake.bot_role(guild).id, allow=perms.VIEW_CHANNEL),
        ],
    )
    return World(
        fake=fake,
        guild=guild,
        general=general,
        memes=memes,
        staff=staff,
        alice=fake.add_member(guild, "alice"),
        bob=fake.add_member(guild, "bob"),
        carol=fake.add_member(guild, "carol"),
        mod=fake.add_member(guild, "mod", roles=[mods]),
        db_url=db_url,
    )


@contextlib.asynccontextmanager
async def seenit_running(world: World, **settings: Any) -> AsyncIterator[SeenitBot]:
    """seenit with a real SQLite file, logged in to the fake Discord."""
    config = Config(database_url=world.db_url, hash_workers=0, allow_private_urls=True, **settings)
    async with (
        open_store(config.database_url) as store,
        Hasher(0) as hasher,
        Fetcher(max_bytes=config.max_image_bytes, timeout=5.0, allow_private=True) as fetcher,
    ):
        service = SeenService(store, hasher)
        bot = SeenitBot(config=config, service=service, fetcher=fetcher)
        world.bots.append(bot)
        async with running_bot(world.fake, bot):
            yield bot


async def admin(world: World, command: str, options: JSON | None = None) -> str:
    """The moderator runs a slash command in #general; the text of the final answer."""
    rec = await world.fake.slash_command(world.guild, world.general, world.mod, command, options)
    return text_of(await rec.wait_final(timeout=10))


async def press(world: World, who: Member, message: JSON, label: str) -> str:
    """``who`` presses the button ``label`` under a message in #general; the answer's text."""
    rec = await world.fake.press_button(
        world.guild, world.general, who, message=message, custom_id=buttons(message)[label]
    )
    return text_of(await rec.wait_final(timeout=10))


def text_of(message: JSON) -> str:
    """Everything a person reads in a message: content, embed texts and fields."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts.append(embed.get("title") or "")
        parts.append(embed.get("description") or "")
        for f in embed.get("fields") or []:
            parts.append(f"{f.get('name')}: {f.get('value')}")
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(parts)


def jump(world: World, channel: Channel, message: JSON) -> str:
    return f"https://discord.com/channels/{world.guild.id}/{channel.id}/{message['id']}"

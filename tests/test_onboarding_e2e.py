"""Joining a server end to end: the welcome, and the recent history indexed without alerts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.store import open_store
from cogs.scanner import SCANS_KEY
from tests.botworld import World, seenit_running, text_of
from tests.fakediscord import Channel, Guild, Member, Overwrite
from tests.fakediscord import permissions as perms
from tests.support import CHELSEA, PHOTOS, ROCKET, encode, photo, variant

pytestmark = pytest.mark.usefixtures("no_logged_errors")

DOCS = "https://docs.example/seenit"


def ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


@dataclass
class NewServer:
    """A server seenit is not in yet, with some history."""

    guild: Guild
    lobby: Channel
    general: Channel
    memes: Channel
    secret: Channel
    dave: Member
    erin: Member


def build_new_server(world: World) -> NewServer:
    fake = world.fake
    guild = fake.add_guild("Newcomers", joined=False)
    lobby = fake.add_text_channel(guild, "lobby")
    general = fake.add_text_channel(guild, "general")
    memes = fake.add_text_channel(guild, "memes")
    secret = fake.add_text_channel(
        guild, "secret", overwrites=[Overwrite.for_role(guild.id, deny=perms.VIEW_CHANNEL)]
    )
    fake.set_system_channel(guild, lobby)
    dave = fake.add_member(guild, "dave")
    erin = fake.add_member(guild, "erin")
    return NewServer(guild, lobby, general, memes, secret, dave, erin)


async def stored(world: World, guild: Guild) -> int:
    return await world.bot.service.store.count_images(guild.id)


async def welcome_done(world: World, server: NewServer, wait: float = 15.0) -> dict[str, Any]:
    return await world.fake.wait_for_message(
        server.lobby,
        lambda m: (m.get("content") or "").startswith("Indexed"),
        timeout=wait,
    )


async def test_joining_a_server_welcomes_it_and_indexes_its_recent_history(world: World) -> None:
    fake = world.fake
    server = build_new_server(world)
    post = fake.post_message
    old = await post(server.general, server.dave, attachments=[ROCKET], posted_at=ago(40))
    recent = await post(server.general, server.dave, attachments=[CHELSEA], posted_at=ago(3))
    # A repost inside the history is indexed, never alerted.
    await post(server.memes, server.dave, attachments=[variant("chelsea.jpg", "webp")])
    await post(server.secret, server.dave, attachments=[ROCKET])
    async with seenit_running(world, docs_url=DOCS):
        assert fake.bot_messages_in(server.lobby) == []
        fake.join_guild(server.guild)
        welcome = await welcome_done(world, server)
        assert fake.bot_messages_in(server.lobby) == [welcome]  # one message, no more
        text = text_of(welcome)
        assert "every channel I can read" in text and "public replies" in text
        assert "`/repost watch`" in text and "`/repost alerts`" in text and DOCS in text
        # #general (2, one too old to read), #memes (1), #lobby (the welcome itself).
        assert "Indexed the last 30 days: 3 messages read · 2 images indexed" in text
        assert await stored(world, server.guild) == 2  # not the 40-day-old one, not #secret
        for channel in (server.general, server.memes, server.secret):
            assert fake.bot_messages_in(channel) == []
        # The history counts: a repost of the indexed picture is caught.
        repost = await post(
            server.general, server.erin, attachments=[variant("chelsea.jpg", "mirrored")]
        )
        alert = await fake.wait_for_message(server.general, after=repost, timeout=10)
        link = f"https://discord.com/channels/{server.guild.id}/{server.general.id}/{recent['id']}"
        assert link in text_of(alert)
        assert old["id"] not in text_of(alert)


async def test_without_a_system_channel_the_first_writable_channel_is_welcomed(
    world: World,
) -> None:
    fake = world.fake
    server = build_new_server(world)
    fake.set_system_channel(server.guild, None)
    # #lobby is read-only for everyone: the welcome goes to #general.
    fake.set_overwrites(
        server.lobby, [Overwrite.for_role(server.guild.id, deny=perms.SEND_MESSAGES)]
    )
    async with seenit_running(world):
        fake.join_guild(server.guild)
        welcome = await fake.wait_for_message(
            server.general, lambda m: (m.get("content") or "").startswith("Indexed"), timeout=15
        )
        assert "Hello" in text_of(welcome)
        assert fake.bot_messages_in(server.lobby) == []


async def test_history_per_channel_stops_at_the_message_limit(world: World) -> None:
    fake = world.fake
    server = build_new_server(world)
    pictures = [
        (f"{i}.jpg", encode(photo(PHOTOS[i % len(PHOTOS)]).rotate(90 * (i // 5)), quality=80))
        for i in range(6)
    ]
    for n, picture in enumerate(pictures):
        await fake.post_message(
            server.general, server.dave, attachments=[picture], posted_at=ago(10 - n)
        )
    async with seenit_running(world, onboard_messages=4):
        fake.join_guild(server.guild)
        welcome = await welcome_done(world, server)
        # The newest 4 of #general's 6, and the welcome itself in #lobby.
        assert "5 messages read · 4 images indexed" in welcome["content"]
        assert await stored(world, server.guild) == 4


async def test_a_reconnect_is_not_a_join(world: World) -> None:
    fake = world.fake
    await world.post(world.general, world.alice, CHELSEA)
    async with seenit_running(world):
        await world.idle()
        # A new session (the old one cannot be resumed): every guild arrives again.
        await fake.gateway.invalidate_sessions(resumable=False)
        await fake.wait_until(lambda: len(fake.gateway.identifies) == 2, what="a new IDENTIFY")
        await fake.wait_until(lambda: world.bot.is_ready() and fake.gateway.connected)
        # Every GUILD_CREATE of the new session is handled: a welcome would be posted by now.
        await world.idle()
        for channel in (world.general, world.memes, world.staff):
            assert fake.bot_messages_in(channel) == []
        assert await stored(world, world.guild) == 0  # joining indexes history; this did not


async def test_indexing_interrupted_by_a_restart_resumes(world: World) -> None:
    fake = world.fake
    server = build_new_server(world)
    await fake.post_message(server.general, server.dave, attachments=[CHELSEA], posted_at=ago(2))
    await fake.post_message(server.memes, server.dave, attachments=[ROCKET], posted_at=ago(1))
    # Reading #memes hangs long enough for seenit to be stopped in the middle.
    fake.inject_fault("GET", f"/channels/{server.memes.id}/messages", status=None, delay=3.0)
    async with seenit_running(world):
        fake.join_guild(server.guild)
        await fake.wait_until(
            lambda: fake.requests_matching("GET", f"/channels/{server.memes.id}/messages"),
            timeout=10,
            what="seenit reading #memes",
        )
    async with open_store(world.db_url) as store:
        saved = json.loads(await store.get_meta(SCANS_KEY) or "{}")
    assert list(saved) == [str(server.memes.id)]
    assert saved[str(server.memes.id)]["done_read"] == 2  # the welcome in #lobby, #general
    async with seenit_running(world):
        welcome = await welcome_done(world, server)
        assert "3 messages read · 2 images indexed" in welcome["content"]
        assert await stored(world, server.guild) == 2
        assert len(fake.bot_messages_in(server.lobby)) == 1  # no second welcome
        assert await world.bot.service.store.get_meta(SCANS_KEY) == "{}"


async def test_the_welcome_speaks_the_servers_language(world: World) -> None:
    fake = world.fake
    server = build_new_server(world)
    fake.set_guild_locale(server.guild, "pt-BR")
    await fake.post_message(server.general, server.dave, attachments=[CHELSEA], posted_at=ago(1))
    async with seenit_running(world):
        fake.join_guild(server.guild)
        welcome = await fake.wait_for_message(
            server.lobby, lambda m: (m.get("content") or "").startswith("Últimos"), timeout=15
        )
        text = text_of(welcome)
        assert "Olá! Eu sou o seenit" in text and "`/repost monitorar`" in text
        assert "indexadas: 1 imagem" in text


async def test_indexing_waits_out_discords_rate_limits(world: World) -> None:
    fake = world.fake
    server = build_new_server(world)
    await fake.post_message(server.general, server.dave, attachments=[CHELSEA], posted_at=ago(2))
    await fake.post_message(server.memes, server.dave, attachments=[ROCKET], posted_at=ago(1))
    # Discord answers 429 to the first two history reads: seenit waits and reads again.
    limited = fake.rate_limit("GET", "/channels/*/messages", count=2, retry_after=0.3)
    async with seenit_running(world):
        fake.join_guild(server.guild)
        welcome = await welcome_done(world, server)
        assert "3 messages read · 2 images indexed" in welcome["content"]
        assert limited.hits == 2
        assert await stored(world, server.guild) == 2


async def test_active_threads_are_indexed_too(world: World) -> None:
    fake = world.fake
    server = build_new_server(world)
    thread = fake.add_thread(server.general, "show and tell")
    await fake.post_message(thread, server.dave, attachments=[CHELSEA], posted_at=ago(1))
    async with seenit_running(world):
        fake.join_guild(server.guild)
        welcome = await welcome_done(world, server)
        assert "1 image indexed" in welcome["content"]
        assert await stored(world, server.guild) == 1
        repost = await fake.post_message(
            server.memes, server.erin, attachments=[variant("chelsea.jpg", "mirrored")]
        )
        alert = await fake.wait_for_message(server.memes, after=repost, timeout=10)
        assert f"/{thread.id}/" in text_of(alert)

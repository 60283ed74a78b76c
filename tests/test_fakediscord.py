"""Proof that the real discord.py client runs against tests.fakediscord."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands
from PIL import Image

from tests.fakediscord import (
    Channel,
    FakeDiscord,
    Guild,
    Member,
    Overwrite,
    logged_errors,
    make_bot,
    running_bot,
)
from tests.fakediscord import permissions as perms

TIMEOUT = 5.0


@pytest.fixture(autouse=True)
def no_logged_errors(caplog: pytest.LogCaptureFixture) -> Any:
    """discord.py logs (rather than raises) errors in event handlers and commands: fail on them."""
    caplog.set_level(logging.WARNING)
    yield
    assert logged_errors(caplog) == []


def png_bytes(width: int = 8, height: int = 6, color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class World:
    fake: FakeDiscord
    guild: Guild
    general: Channel
    category: Channel
    private: Channel
    alice: Member
    mod: Member


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with FakeDiscord() as fake:
        guild = fake.add_guild("Test Guild")
        category = fake.add_category(guild, "memes")
        general = fake.add_text_channel(guild, "general", parent_id=category)
        private = fake.add_text_channel(
            guild,
            "staff",
            overwrites=[Overwrite.for_role(guild.id, deny=perms.VIEW_CHANNEL)],
        )
        mod_role = fake.add_role(guild, "mods", perms.MANAGE_MESSAGES | perms.MANAGE_GUILD)
        alice = fake.add_member(guild, "alice")
        mod = fake.add_member(guild, "mod", roles=[mod_role])
        yield World(fake, guild, general, category, private, alice, mod)


class Recorder:
    """Collects bot-side events into futures/lists."""

    def __init__(self) -> None:
        self.events: dict[str, list[Any]] = {}
        self._cond = asyncio.Condition()

    async def add(self, name: str, value: Any) -> None:
        async with self._cond:
            self.events.setdefault(name, []).append(value)
            self._cond.notify_all()

    async def wait(self, name: str, count: int = 1) -> list[Any]:
        async with asyncio.timeout(TIMEOUT), self._cond:
            await self._cond.wait_for(lambda: len(self.events.get(name, [])) >= count)
            return self.events[name]


# --------------------------------------------------------------------- basics


async def test_bot_becomes_ready_and_sees_guild(world: World) -> None:
    bot = make_bot()
    async with running_bot(world.fake, bot):
        assert bot.user is not None and bot.user.id == world.fake.bot_user.id
        guild = bot.get_guild(world.guild.id)
        assert guild is not None
        assert guild.name == "Test Guild"
        names = {c.name for c in guild.channels}
        assert {"general", "memes", "staff"} <= names
        general = guild.get_channel(world.general.id)
        assert isinstance(general, discord.TextChannel)
        assert general.category_id == world.category.id
        assert guild.me is not None
        me_perms = general.permissions_for(guild.me)
        assert me_perms.send_messages and me_perms.attach_files and me_perms.read_message_history
        assert not me_perms.manage_messages
        staff = guild.get_channel(world.private.id)
        assert isinstance(staff, discord.TextChannel)
        assert not staff.permissions_for(guild.me).view_channel
        assert guild.get_role(world.fake.bot_role(world.guild).id) in guild.me.roles
    intents = world.fake.identify_intents
    assert intents is not None and discord.Intents._from_value(intents).message_content
    assert world.fake.gateway.identifies[0]["token"] == "test-token"
    assert world.fake.gateway.heartbeats >= 1
    assert world.fake.gateway.connect_urls[0].startswith("/?v=10&encoding=json")
    assert world.fake.unknown_requests == []


async def test_heartbeats_keep_the_connection(world: World) -> None:
    world.fake.gateway.heartbeat_interval_ms = 50
    bot = make_bot()
    async with running_bot(world.fake, bot):
        await world.fake.wait_until(lambda: world.fake.gateway.heartbeats >= 4, what="heartbeats")
        assert bot.latency < 1.0
        assert world.fake.gateway.connection_count == 1


async def test_guild_and_channel_lifecycle_events(world: World) -> None:
    fake = world.fake
    intents = discord.Intents.default()
    intents.members = True
    bot = commands.Bot(command_prefix="!", intents=intents)
    rec = Recorder()

    @bot.event
    async def on_guild_join(guild: discord.Guild) -> None:
        await rec.add("join", guild)

    @bot.event
    async def on_guild_channel_create(channel: discord.abc.GuildChannel) -> None:
        await rec.add("channel", channel)

    @bot.event
    async def on_thread_create(thread: discord.Thread) -> None:
        await rec.add("thread", thread)

    @bot.event
    async def on_member_join(member: discord.Member) -> None:
        await rec.add("member", member)

    @bot.event
    async def on_guild_remove(guild: discord.Guild) -> None:
        await rec.add("remove", guild)

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            await rec.add("message", message)
            async with message.channel.typing():
                await message.channel.send("in thread")

    async with running_bot(fake, bot):
        assert len(bot.get_guild(world.guild.id).members) == 4  # type: ignore[union-attr]
        second = fake.add_guild("Second")
        [joined] = await rec.wait("join")
        assert joined.id == second.id and joined.me is not None
        text = fake.add_text_channel(second, "new")
        [created] = await rec.wait("channel")
        assert created.id == text.id
        bob = fake.add_member(second, "bob")
        [member] = await rec.wait("member")
        assert member.id == bob.id
        thread = fake.add_thread(text, "discussion", owner=bob)
        [new_thread] = await rec.wait("thread")
        assert new_thread.parent_id == text.id
        await fake.post_message(thread, bob, "hello thread")
        [message] = await rec.wait("message")
        assert isinstance(message.channel, discord.Thread)
        reply = await fake.wait_for_message(thread)
        assert reply["content"] == "in thread"
        assert fake.requests_matching("POST", f"/channels/{thread.id}/typing")
        await fake.remove_guild(second)
        [removed] = await rec.wait("remove")
        assert removed.id == second.id and bot.get_guild(second.id) is None


async def test_bot_edits_and_deletes_messages_with_permissions(world: World) -> None:
    fake = world.fake
    bot = make_bot()
    async with running_bot(fake, bot):
        channel = bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("draft", embed=discord.Embed(title="t", description="d"))
        await sent.edit(content="final")
        stored = fake.get_message(sent.id)
        assert stored is not None
        assert stored["content"] == "final" and stored["embeds"][0]["title"] == "t"
        user_msg = await fake.post_message(world.general, world.alice, "spam")
        partial = channel.get_partial_message(int(user_msg["id"]))
        with pytest.raises(discord.Forbidden):
            await partial.delete()  # no MANAGE_MESSAGES by default
        fake.set_role_permissions(
            fake.bot_role(world.guild), perms.DEFAULT_BOT_PERMISSIONS | perms.MANAGE_MESSAGES
        )
        await fake.wait_until(lambda: channel.permissions_for(channel.guild.me).manage_messages)
        await partial.delete()
        await sent.delete()
        assert {m["id"] for m in fake.deleted_messages} == {user_msg["id"], str(sent.id)}
        assert fake.messages_in(world.general) == []


async def test_message_with_attachment_reaches_bot_and_reply_is_recorded(world: World) -> None:
    fake = world.fake
    bot = make_bot()
    rec = Recorder()
    image = png_bytes(10, 7)

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author.bot:
            await rec.add("own", message)
            return
        data = await message.attachments[0].read()
        await rec.add("message", (message, data))
        await message.reply(
            "looks familiar",
            mention_author=False,
            file=discord.File(io.BytesIO(data), filename="match.png"),
        )

    async with running_bot(fake, bot):
        posted = await fake.post_message(
            world.general, world.alice, "look", attachments=[("cat.png", image)]
        )
        [(message, data)] = await rec.wait("message")
        assert message.content == "look"
        assert isinstance(message.author, discord.Member)
        att = message.attachments[0]
        assert (att.filename, att.width, att.height, att.size) == ("cat.png", 10, 7, len(image))
        assert att.content_type == "image/png"
        assert data == image

        reply = await fake.wait_for_message(world.general, after=posted)
        assert reply["content"] == "looks familiar"
        assert reply["message_reference"]["message_id"] == posted["id"]
        assert reply["type"] == 19
        [file_att] = reply["attachments"]
        assert file_att["filename"] == "match.png"
        assert (file_att["width"], file_att["height"]) == (10, 7)
        assert fake.attachment_bytes(file_att) == image
        [upload] = fake.requests_matching("POST", "/channels/*/messages")[0].files
        assert upload.filename == "match.png"
        # Discord echoes the bot's own message on the gateway too.
        [own] = await rec.wait("own")
        assert own.reference is not None and own.reference.message_id == int(posted["id"])
    assert [m["id"] for m in fake.messages_in(world.general)] == [posted["id"], reply["id"]]
    assert fake.unknown_requests == []


async def test_history_is_newest_first_and_paginates(world: World) -> None:
    fake = world.fake
    posted = [await fake.post_message(world.general, world.alice, f"m{i}") for i in range(7)]
    bot = make_bot()
    async with running_bot(fake, bot):
        channel = bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        newest = [m.content async for m in channel.history(limit=3)]
        assert newest == ["m6", "m5", "m4"]
        everything = [m.content async for m in channel.history(limit=None)]
        assert everything == [f"m{i}" for i in reversed(range(7))]
        oldest = [m.content async for m in channel.history(limit=3, oldest_first=True)]
        assert oldest == ["m0", "m1", "m2"]
        after = [
            m.content
            async for m in channel.history(limit=10, after=discord.Object(int(posted[4]["id"])))
        ]
        assert after == ["m5", "m6"]
        fetched = await channel.fetch_message(int(posted[2]["id"]))
        assert fetched.content == "m2"
        with pytest.raises(discord.NotFound):
            await channel.fetch_message(1)
        # no READ_MESSAGE_HISTORY/VIEW in the private channel -> 403 like Discord
        staff = bot.get_channel(world.private.id)
        assert isinstance(staff, discord.TextChannel)
        with pytest.raises(discord.Forbidden):
            await staff.send("hi")


async def test_raw_delete_events(world: World) -> None:
    fake = world.fake
    bot = make_bot()
    rec = Recorder()

    @bot.event
    async def on_raw_message_delete(payload: discord.RawMessageDeleteEvent) -> None:
        await rec.add("delete", payload)

    @bot.event
    async def on_raw_bulk_message_delete(payload: discord.RawBulkMessageDeleteEvent) -> None:
        await rec.add("bulk", payload)

    @bot.event
    async def on_guild_channel_delete(channel: discord.abc.GuildChannel) -> None:
        await rec.add("channel", channel)

    async with running_bot(fake, bot):
        msgs = [await fake.post_message(world.general, world.alice, f"x{i}") for i in range(3)]
        await fake.delete_message(world.general, msgs[0])
        [deleted] = await rec.wait("delete")
        assert deleted.message_id == int(msgs[0]["id"])
        assert deleted.channel_id == world.general.id
        assert deleted.cached_message is not None and deleted.cached_message.content == "x0"
        await fake.bulk_delete(world.general, msgs[1:])
        [bulk] = await rec.wait("bulk")
        assert bulk.message_ids == {int(m["id"]) for m in msgs[1:]}
        assert fake.messages_in(world.general) == []
        await fake.delete_channel(world.general)
        [gone] = await rec.wait("channel")
        assert gone.id == world.general.id
        assert bot.get_channel(world.general.id) is None


async def test_private_channel_events_are_not_delivered(world: World) -> None:
    fake = world.fake
    bot = make_bot()
    seen: list[str] = []

    @bot.event
    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    async with running_bot(fake, bot):
        await fake.post_message(world.private, world.mod, "secret")
        await fake.post_message(world.general, world.alice, "public")
        await fake.wait_until(lambda: seen, what="on_message")
        await asyncio.sleep(0.05)
        assert seen == ["public"]


async def test_message_content_intent_is_honoured(world: World) -> None:
    fake = world.fake
    bot = make_bot(message_content=False)
    rec = Recorder()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        await rec.add("message", message)

    async with running_bot(fake, bot):
        await fake.post_message(
            world.general, world.alice, "hidden", attachments=[("a.png", png_bytes())]
        )
        await fake.post_message(world.general, world.alice, f"hey {fake.bot_user.mention}")
        first, second = await rec.wait("message", 2)
        assert (first.content, first.attachments) == ("", [])
        assert second.content.startswith("hey")


# --------------------------------------------------------------- interactions


def build_command_bot(rec: Recorder) -> commands.Bot:
    bot = make_bot()

    @bot.tree.command(name="findsimilar", description="Find images similar to this one")
    async def findsimilar(interaction: discord.Interaction, image: discord.Attachment) -> None:
        data = await image.read()
        await rec.add("findsimilar", (interaction, image, data))
        await interaction.response.send_message(f"no match for {image.filename}", ephemeral=True)

    @bot.tree.command(name="scan", description="Slow scan")
    async def scan(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(
            "scan done", file=discord.File(io.BytesIO(png_bytes()), filename="report.png")
        )
        await interaction.followup.send("second followup")
        await rec.add("scan", interaction)

    repost = app_commands.Group(name="repost", description="Repost watching")

    @repost.command(name="watch", description="Watch a channel")
    async def watch(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        await rec.add("watch", (interaction, channel))
        await interaction.response.send_message(f"watching {channel.mention}")

    settings = app_commands.Group(name="settings", description="Settings")
    threshold_group = app_commands.Group(name="threshold", description="Threshold", parent=settings)

    @threshold_group.command(name="set", description="Set the threshold")
    async def set_threshold(
        interaction: discord.Interaction, value: int, strict: bool = False
    ) -> None:
        await rec.add("threshold", (interaction, value, strict))
        await interaction.response.defer(ephemeral=True)
        await interaction.edit_original_response(content=f"threshold={value}")

    bot.tree.add_command(repost)
    bot.tree.add_command(settings)

    async def find_similar_menu(interaction: discord.Interaction, message: discord.Message) -> None:
        await rec.add("menu", (interaction, message))
        await interaction.response.send_message(
            f"searching {message.id}",
            file=discord.File(io.BytesIO(png_bytes(3, 3)), filename="thumb.png"),
        )
        original = await interaction.original_response()
        await original.edit(content=f"searched {message.id}")

    bot.tree.add_command(app_commands.ContextMenu(name="Find similar", callback=find_similar_menu))
    return bot


async def test_slash_commands(world: World) -> None:
    fake = world.fake
    rec = Recorder()
    bot = build_command_bot(rec)
    async with running_bot(fake, bot):
        image = png_bytes(12, 9)
        resp = await fake.slash_command(
            world.guild, world.general, world.alice, "findsimilar", {"image": ("q.png", image)}
        )
        body = await resp.wait_response()
        assert body["type"] == 4
        assert body["data"]["content"] == "no match for q.png"
        assert body["data"]["flags"] & 64
        assert resp.ephemeral and resp.original is not None
        [(interaction, attachment, data)] = await rec.wait("findsimilar")
        assert data == image and (attachment.width, attachment.height) == (12, 9)
        assert interaction.user.id == world.alice.id
        avatar = await interaction.user.display_avatar.read()  # default avatar, fake CDN
        assert avatar.startswith(b"\x89PNG")
        assert interaction.permissions.send_messages and not interaction.permissions.manage_messages
        assert interaction.app_permissions.attach_files
        assert interaction.channel is not None and interaction.channel.id == world.general.id
        # ephemeral: not in channel history
        assert fake.messages_in(world.general) == []

        resp = await fake.slash_command(world.guild, world.general, world.mod, "scan")
        assert (await resp.wait_response())["type"] == 5
        final = await resp.wait_final()
        assert final["content"] == "scan done"
        assert final["attachments"][0]["filename"] == "report.png"
        second = await resp.wait_followup(2)
        assert second["content"] == "second followup"
        # the first followup completed the deferred message instead of posting another
        assert resp.original is not None and final["id"] == resp.original["id"]
        assert [m["content"] for m in fake.messages_in(world.general)] == [
            "scan done",
            "second followup",
        ]

        resp = await fake.slash_command(
            world.guild, world.general, world.mod, "repost watch", {"channel": world.private}
        )
        body = await resp.wait_response()
        assert body["data"]["content"] == f"watching <#{world.private.id}>"
        [(_, channel)] = await rec.wait("watch")
        assert channel.id == world.private.id

        resp = await fake.slash_command(
            world.guild, world.general, world.mod, "settings threshold set", {"value": 7}
        )
        final = await resp.wait_original()
        assert final["content"] == "threshold=7" and final["flags"] & 64
        [(_, value, strict)] = await rec.wait("threshold")
        assert (value, strict) == (7, False)

        target = await fake.post_message(world.general, world.alice, "old meme")
        resp = await fake.context_menu(
            world.guild, world.general, world.mod, "Find similar", target_message=target
        )
        body = await resp.wait_response()
        assert body["data"]["content"] == f"searching {target['id']}"
        [(_, message)] = await rec.wait("menu")
        assert message.content == "old meme"
        edited = await resp.wait_original(lambda msg: msg["content"].startswith("searched"))
        assert edited["attachments"][0]["filename"] == "thumb.png"
        assert edited["type"] == 23 and edited in fake.messages_in(world.general)
        [upload] = resp.callback_files[0]
        assert upload.filename == "thumb.png"
    assert fake.unknown_requests == []


async def test_tree_sync_is_recorded_and_used(world: World) -> None:
    fake = world.fake
    rec = Recorder()
    bot = build_command_bot(rec)
    async with running_bot(fake, bot):
        synced = await bot.tree.sync()
        assert fake.sync_count == 1
        sync = fake.command_syncs[0]
        assert sync.guild_id is None
        assert set(sync.names) == {"findsimilar", "scan", "repost", "settings", "Find similar"}
        assert {c.name for c in synced} == set(sync.names)
        ids = {c["name"]: c["id"] for c in fake.global_commands}
        # schema-aware options: 'value' is typed by the synced schema
        resp = await fake.slash_command(
            world.guild,
            world.general,
            world.mod,
            "settings threshold set",
            {"value": 3, "strict": True},
        )
        assert resp.payload["data"]["id"] == ids["settings"]
        await resp.wait_original()
        [(_, value, strict)] = await rec.wait("threshold")
        assert (value, strict) == (3, True)

        bot.tree.copy_global_to(guild=discord.Object(world.guild.id))
        await bot.tree.sync(guild=discord.Object(world.guild.id))
        assert fake.sync_count == 2
        assert fake.command_syncs[1].guild_id == world.guild.id
        resp = await fake.slash_command(world.guild, world.general, world.alice, "scan")
        assert resp.payload["data"]["guild_id"] == str(world.guild.id)
        await resp.wait_final()
        # re-sync keeps ids stable, like Discord
        await bot.tree.sync()
        assert {c["name"]: c["id"] for c in fake.global_commands} == ids


class DismissView(discord.ui.View):
    def __init__(self, rec: Recorder) -> None:
        super().__init__(timeout=None)
        self.rec = rec

    @discord.ui.button(label="Not a repost", custom_id="seenit:dismiss")
    async def dismiss(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        await self.rec.add("pressed", interaction)
        await interaction.response.edit_message(content="dismissed", view=None)


async def test_persistent_button(world: World) -> None:
    fake = world.fake
    rec = Recorder()
    bot = make_bot()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            await message.channel.send("repost spotted", view=DismissView(rec))

    async with running_bot(fake, bot):
        bot.add_view(DismissView(rec))
        posted = await fake.post_message(world.general, world.alice, "meme")
        warning = await fake.wait_for_message(world.general, after=posted)
        button = warning["components"][0]["components"][0]
        assert button["custom_id"] == "seenit:dismiss"
        resp = await fake.press_button(
            world.guild, world.general, world.mod, message=warning, custom_id="seenit:dismiss"
        )
        [interaction] = await rec.wait("pressed")
        assert interaction.user.id == world.mod.id
        assert interaction.message is not None and interaction.message.id == int(warning["id"])
        assert (await resp.wait_response())["type"] == 7
        assert warning["content"] == "dismissed" and warning["components"] == []
        assert warning["edited_timestamp"] is not None


# ------------------------------------------------------------- reliability


async def test_rate_limit_is_retried(world: World) -> None:
    fake = world.fake
    bot = make_bot()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            await message.add_reaction("👀")
            await message.channel.send("checked")

    async with running_bot(fake, bot):
        fake.rate_limit("POST", "/channels/*/messages", retry_after=0.1)
        posted = await fake.post_message(world.general, world.alice, "meme")
        sent = await fake.wait_for_message(world.general, after=posted)
        assert sent["content"] == "checked"
        attempts = fake.requests_matching("POST", "/channels/*/messages")
        assert [r.status for r in attempts] == [429, 200]
        assert fake.reactions_on(posted) == {"👀": [fake.bot_user.id]}
        assert posted["reactions"][0]["me"] is True


async def test_server_error_is_retried(world: World) -> None:
    fake = world.fake
    bot = make_bot()
    async with running_bot(fake, bot):
        channel = bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        fake.server_error("POST", "/channels/*/messages")
        await channel.send("after a 500")
        assert [r.status for r in fake.requests_matching("POST", "/channels/*/messages")] == [
            500,
            200,
        ]


async def test_gateway_drop_resumes_and_replays(world: World) -> None:
    fake = world.fake
    bot = make_bot()
    rec = Recorder()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        await rec.add("message", message.content)

    @bot.event
    async def on_resumed() -> None:
        await rec.add("resumed", True)

    async with running_bot(fake, bot):
        await fake.post_message(world.general, world.alice, "before")
        await rec.wait("message")
        assert await fake.drop_gateway() == 1
        # dispatched while the bot may be disconnected: replayed on RESUME
        await fake.post_message(world.general, world.alice, "during")
        resume = await fake.wait_for_resume()
        assert resume["session_id"] in fake.gateway.sessions
        await rec.wait("resumed")
        await fake.post_message(world.general, world.alice, "after")
        contents = await rec.wait("message", 3)
        assert contents == ["before", "during", "after"]
        assert len(fake.gateway.identifies) == 1
        assert bot.is_ready()


async def test_gateway_reconnect_and_invalid_session(world: World) -> None:
    fake = world.fake
    bot = make_bot()
    rec = Recorder()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        await rec.add("message", message.content)

    async with running_bot(fake, bot):
        await fake.gateway.send_reconnect()  # op 7: discord.py closes and RESUMEs
        await fake.wait_for_resume()
        await fake.gateway.invalidate_sessions()  # op 9 false: discord.py IDENTIFYs again
        await fake.wait_until(lambda: len(fake.gateway.identifies) == 2, what="re-identify")
        await fake.wait_for_gateway_connected()
        await fake.post_message(world.general, world.alice, "still here")
        assert await rec.wait("message") == ["still here"]
        assert bot.get_guild(world.guild.id) is not None


async def test_interaction_permissions_override(world: World) -> None:
    fake = world.fake
    bot = make_bot()
    rec = Recorder()

    @bot.tree.command(name="purge", description="Admin only")
    @app_commands.checks.has_permissions(manage_messages=True)
    async def purge(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("purged", ephemeral=True)

    @purge.error
    async def purge_error(interaction: discord.Interaction, error: Exception) -> None:
        await rec.add("denied", error)
        await interaction.response.send_message("nope", ephemeral=True)

    async with running_bot(fake, bot):
        denied = await fake.slash_command(world.guild, world.general, world.alice, "purge")
        assert (await denied.wait_response())["data"]["content"] == "nope"
        assert isinstance((await rec.wait("denied"))[0], app_commands.MissingPermissions)
        allowed = await fake.slash_command(world.guild, world.general, world.mod, "purge")
        assert (await allowed.wait_response())["data"]["content"] == "purged"
        forced = await fake.slash_command(
            world.guild, world.general, world.alice, "purge", permissions=perms.ALL_PERMISSIONS
        )
        assert (await forced.wait_response())["data"]["content"] == "purged"


async def test_unknown_route_is_recorded(world: World) -> None:
    fake = world.fake
    bot = make_bot()
    async with running_bot(fake, bot):
        channel = bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.NotFound):
            await channel.guild.fetch_emojis()
        with pytest.raises(discord.NotFound):
            await channel.fetch_message(123)  # known route, unknown message
        [unknown] = fake.unknown_requests
        assert unknown.method == "GET" and unknown.path.endswith("/emojis")
        assert fake.internal_errors == []

"""seenit end to end: the real discord.py client against the fake Discord, a real SQLite file."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from aiohttp import web
from PIL import Image

from bot.client import intents
from bot.pictures import LABEL_HEIGHT, MAIN_SIDE, PAD, SMALL_SIDE
from tests.botworld import World, jump, seenit_running, text_of
from tests.support import CHELSEA, COFFEE, ROCKET, VARIANTS, photo, variant

pytestmark = pytest.mark.usefixtures("no_logged_errors")


async def test_a_repost_gets_a_reply_linking_the_original(world: World) -> None:
    async with seenit_running(world):
        original = await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        repost = await world.post(world.memes, world.bob, variant("chelsea.jpg", "mirrored"))
        alert = await world.fake.wait_for_message(world.memes)
        assert alert["message_reference"]["message_id"] == repost["id"]
        text = text_of(alert)
        assert jump(world, world.general, original) in text
        assert "Original" in text and f"<@{world.alice.user.id}>" in text
        # A reply that does not ping the author.
        (sent,) = world.fake.requests_matching("POST", f"/channels/{world.memes.id}/messages")
        assert sent.json["allowed_mentions"]["replied_user"] is False


async def test_unrelated_images_raise_no_alert(world: World) -> None:
    async with seenit_running(world):
        await world.post(world.general, world.alice, CHELSEA)
        await world.post(world.general, world.bob, COFFEE)
        await world.post(world.general, world.bob, ROCKET)
        await world.settled(3)
        await world.idle()
        assert world.fake.bot_messages_in(world.general) == []


async def test_many_earlier_posts_are_counted_with_the_original_first(world: World) -> None:
    async with seenit_running(world):
        first = await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        for n, edit in enumerate(("half size", "jpeg q40", "webp", "watermark"), 2):
            await world.post(world.general, world.bob, variant("chelsea.jpg", edit))
            await world.settled(n)
        await world.post(world.general, world.carol, variant("chelsea.jpg", "rotated 90"))
        last = await world.fake.wait_for_message(
            world.general, lambda m: "5 times" in text_of(m), timeout=10
        )
        text = text_of(last)
        assert (
            text.index("Original")
            < text.index(jump(world, world.general, first))
            < 200 + len("Original")
        )
        assert "more" in text  # the middle posts are counted, not listed


async def test_findsimilar_with_an_attachment_answers_privately(world: World) -> None:
    async with seenit_running(world):
        original = await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        rec = await world.fake.slash_command(
            world.guild,
            world.memes,
            world.bob,
            "findsimilar",
            {"image": variant("chelsea.jpg", "grayscale")},
        )
        answer = await rec.wait_final(timeout=10)
        assert rec.ephemeral
        assert jump(world, world.general, original) in text_of(answer)


async def test_answers_carry_a_comparison_picture(world: World) -> None:
    async with seenit_running(world):
        await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        for n, edit in enumerate(("webp", "jpeg q40", "grayscale"), 2):
            await world.post(world.memes, world.bob, variant("chelsea.jpg", edit))
            await world.settled(n)
        rec = await world.fake.slash_command(
            world.guild,
            world.general,
            world.carol,
            "findsimilar",
            {"image": variant("chelsea.jpg", "half size")},
        )
        answer = await rec.wait_final(timeout=15)
        (attachment,) = answer["attachments"]
        assert attachment["filename"] == "comparison.webp"
        data = world.fake.attachment_bytes(attachment)
        assert len(data) < 200_000
        picture = Image.open(io.BytesIO(data))
        # Two large tiles side by side, and a row of small tiles for the other matches.
        assert picture.format == "WEBP"
        assert picture.size == (
            2 * MAIN_SIDE + 3 * PAD,
            2 * PAD + MAIN_SIDE + LABEL_HEIGHT + SMALL_SIDE + LABEL_HEIGHT + PAD,
        )
        assert answer["embeds"][0]["image"]["url"].endswith("comparison.webp")


async def test_findsimilar_with_a_url_and_a_message_link(world: World) -> None:
    served = VARIANTS["half size"](photo("rocket.jpg"))

    async def image(_: web.Request) -> web.Response:
        return web.Response(body=served, content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/rocket.jpg", image)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with seenit_running(world):
            original = await world.post(world.general, world.alice, ROCKET)
            repost = await world.post(world.memes, world.bob, variant("rocket.jpg", "webp"))
            await world.settled(2)
            rec = await world.fake.slash_command(
                world.guild,
                world.general,
                world.carol,
                "findsimilar",
                {"url": f"http://127.0.0.1:{port}/rocket.jpg"},
            )
            text = text_of(await rec.wait_final(timeout=10))
            assert jump(world, world.general, original) in text
            assert jump(world, world.memes, repost) in text
            rec = await world.fake.slash_command(
                world.guild,
                world.general,
                world.carol,
                "findsimilar",
                {"message": jump(world, world.memes, repost)},
            )
            text = text_of(await rec.wait_final(timeout=10))
            assert jump(world, world.general, original) in text
            # The message asked about is not its own earlier post.
            assert jump(world, world.memes, repost) not in text
    finally:
        await runner.cleanup()


async def test_find_similar_message_menu(world: World) -> None:
    async with seenit_running(world):
        original = await world.post(world.general, world.alice, COFFEE)
        await world.settled(1)
        later = await world.post(world.memes, world.bob, variant("coffee.jpg", "brighter"))
        await world.settled(2)
        rec = await world.fake.context_menu(
            world.guild, world.memes, world.carol, "Find similar", target_message=later
        )
        answer = await rec.wait_final(timeout=10)
        assert rec.ephemeral
        assert jump(world, world.general, original) in text_of(answer)


async def test_results_never_reveal_channels_the_member_cannot_see(world: World) -> None:
    async with seenit_running(world):
        hidden = await world.post(world.staff, world.mod, CHELSEA)
        await world.settled(1)
        query: dict[str, Any] = {"image": variant("chelsea.jpg", "half size")}
        rec = await world.fake.slash_command(
            world.guild, world.general, world.alice, "findsimilar", query
        )
        assert jump(world, world.staff, hidden) not in text_of(await rec.wait_final(timeout=10))
        rec = await world.fake.slash_command(
            world.guild, world.general, world.mod, "findsimilar", query
        )
        assert jump(world, world.staff, hidden) in text_of(await rec.wait_final(timeout=10))
        # Nor do alerts: alice's repost in a public channel is not told about the staff post.
        await world.post(world.general, world.alice, variant("chelsea.jpg", "webp"))
        await world.settled(2)
        await world.idle()
        assert world.fake.bot_messages_in(world.general) == []


async def test_members_without_manage_server_cannot_change_settings(world: World) -> None:
    async with seenit_running(world):
        rec = await world.fake.slash_command(
            world.guild, world.general, world.alice, "repost sensitivity", {"level": "strict"}
        )
        response = await rec.wait_response()
        assert response["data"]["flags"] & 64  # ephemeral refusal
        assert "Manage Server" in response["data"]["content"]
        assert (await world.bot.service.settings(world.guild.id)).sensitivity == "normal"
        rec = await world.fake.slash_command(
            world.guild, world.general, world.mod, "repost sensitivity", {"level": "strict"}
        )
        await rec.wait_response()
        assert (await world.bot.service.settings(world.guild.id)).sensitivity == "strict"


async def test_reaction_and_log_channel_alert_styles(world: World) -> None:
    async with seenit_running(world):
        rec = await world.fake.slash_command(
            world.guild, world.general, world.mod, "repost alerts", {"style": "reaction"}
        )
        await rec.wait_response()
        await world.post(world.general, world.alice, ROCKET)
        await world.settled(1)
        repost = await world.post(world.general, world.bob, variant("rocket.jpg", "jpeg q40"))
        await world.fake.wait_until(
            lambda: world.fake.reactions_on(repost), timeout=10, what="a reaction"
        )
        assert world.fake.bot_messages_in(world.general) == []

        rec = await world.fake.slash_command(
            world.guild,
            world.general,
            world.mod,
            "repost alerts",
            {"style": "log", "log_channel": world.staff},
        )
        await rec.wait_response()
        again = await world.post(world.general, world.carol, variant("rocket.jpg", "half size"))
        logged = await world.fake.wait_for_message(world.staff, timeout=10)
        assert jump(world, world.general, again) in text_of(logged)
        assert world.fake.bot_messages_in(world.general) == []


async def test_deleted_posts_are_forgotten_and_the_next_earliest_becomes_original(
    world: World,
) -> None:
    async with seenit_running(world):
        first = await world.post(world.general, world.alice, COFFEE)
        await world.settled(1)
        second = await world.post(world.memes, world.bob, variant("coffee.jpg", "webp"))
        first_alert = await world.fake.wait_for_message(world.memes)
        await world.fake.delete_message(world.general, first)
        await world.settled(1)
        # The alert answering a deleted repost goes too.
        await world.fake.delete_message(world.memes, second)
        await world.settled(0)
        await world.fake.wait_until(
            lambda: world.fake.get_message(first_alert) is None, what="alert deleted"
        )
        third = await world.post(world.general, world.carol, variant("coffee.jpg", "half size"))
        await world.settled(1)
        fourth = await world.post(world.memes, world.alice, variant("coffee.jpg", "jpeg q40"))
        alert = await world.fake.wait_for_message(world.memes, after=fourth)
        text = text_of(alert)
        assert jump(world, world.general, third) in text
        assert jump(world, world.general, first) not in text
        # Bulk deletions are followed as well.
        await world.fake.bulk_delete(world.general, [third])
        await world.settled(1)


async def test_history_scan_indexes_earlier_images(world: World) -> None:
    # Posted before seenit joined: only a scan can know about them.
    old = await world.post(world.general, world.alice, ROCKET)
    await world.post(world.general, world.bob, COFFEE)
    await world.post(world.general, world.carol, variant("rocket.jpg", "half size"))
    await world.fake.post_message(world.general, world.bob, content="no image here")
    async with seenit_running(world):
        rec = await world.fake.slash_command(
            world.guild, world.memes, world.mod, "repost scan", {"channel": world.general}
        )
        response = await rec.wait_response()
        assert response["data"]["flags"] & 64  # the scan is acknowledged privately
        final = await world.fake.wait_for_message(
            world.memes, lambda m: m["content"].startswith("Scanned"), timeout=10
        )
        assert "4 messages read · 3 images indexed · 1 repost found" in final["content"]
        repost = await world.post(world.memes, world.carol, variant("rocket.jpg", "mirrored"))
        alert = await world.fake.wait_for_message(world.memes, after=repost)
        assert jump(world, world.general, old) in text_of(alert)


async def test_a_scan_interrupted_by_a_restart_resumes_where_it_stopped(world: World) -> None:
    from cogs.scanner import SCANS_KEY

    posted = [await world.post(world.general, world.alice, f) for f in (ROCKET, COFFEE, CHELSEA)]
    # The progress message the stopped run had posted.
    progress = world.fake.messaging.new_bot_message(world.memes.id, {"content": "Scanning…"}, [])
    # A previous run read the newest message (chelsea) before it was stopped.
    state = {
        str(world.general.id): {
            "guild_id": world.guild.id,
            "channel_id": world.general.id,
            "limit": 100,
            "progress_channel_id": world.memes.id,
            "progress_message_id": int(progress["id"]),
            "before": int(posted[2]["id"]),
            "read": 1,
            "indexed": 1,
            "reposts": 0,
            "elapsed": 1.0,
        }
    }
    from bot.store import open_store

    async with open_store(world.db_url) as store:
        await store.set_meta(SCANS_KEY, json.dumps(state))
    async with seenit_running(world):
        await world.fake.wait_until(
            lambda: world.fake.get_message(progress)["content"].startswith("Scanned"),
            timeout=10,
            what="the resumed scan to finish",
        )
        assert "3 messages read · 3 images indexed" in world.fake.get_message(progress)["content"]
        assert await world.bot.service.store.count_images(world.guild.id) == 2  # rocket, coffee
        assert await world.bot.service.store.get_meta(SCANS_KEY) == "{}"


async def test_restart_keeps_the_index_catches_up_and_does_not_resync(world: World) -> None:
    async with seenit_running(world):
        original = await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
    syncs = world.fake.sync_count
    assert syncs == 1
    # Posted while seenit was down.
    missed = await world.post(world.general, world.bob, COFFEE)
    async with seenit_running(world):
        await world.settled(2)
        assert world.fake.sync_count == syncs
        await world.post(world.memes, world.carol, variant("chelsea.jpg", "half size"))
        alert = await world.fake.wait_for_message(world.memes)
        assert jump(world, world.general, original) in text_of(alert)
        repost = await world.post(world.memes, world.carol, variant("coffee.jpg", "webp"))
        alert = await world.fake.wait_for_message(world.memes, after=repost)
        assert jump(world, world.general, missed) in text_of(alert)


async def test_the_bot_asks_for_message_content(world: World) -> None:
    async with seenit_running(world):
        assert world.fake.identify_intents == intents().value
        assert intents().message_content and intents().guild_messages

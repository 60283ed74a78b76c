"""Admin settings and the less common paths, end to end through the fake Discord."""

from __future__ import annotations

import asyncio

import pytest

from tests.botworld import World, admin, jump, press, seenit_running, text_of
from tests.support import ASTRONAUT, CHELSEA, COFFEE, ROCKET, buttons, variant

pytestmark = pytest.mark.usefixtures("no_logged_errors")


async def quiet(world: World, images: int) -> None:
    """Wait until the bot stored ``images`` and handled every message (alerts included)."""
    await world.settled(images)
    await world.idle()
    assert await world.bot.service.store.count_images(world.guild.id) == images


async def test_settings_embed_shows_the_configuration(world: World) -> None:
    async with seenit_running(world):
        await admin(world, "repost scope", {"scope": "channel", "max_age_days": 30})
        text = await admin(world, "repost settings")
        assert "same channel, 30 days" in text
        assert "reply" in text and "normal" in text


async def test_listed_mode_watches_only_listed_channels_and_categories(world: World) -> None:
    async with seenit_running(world):
        await admin(world, "repost mode", {"mode": "listed"})
        await admin(world, "repost watch", {"channel": world.memes})
        await world.post(world.general, world.alice, CHELSEA)  # not watched: not stored
        await world.post(world.memes, world.alice, ROCKET)
        await quiet(world, 1)
        await admin(world, "repost unwatch", {"channel": world.memes})
        await world.post(world.memes, world.bob, COFFEE)
        await quiet(world, 1)


async def test_unwatched_channels_are_ignored_in_all_mode(world: World) -> None:
    async with seenit_running(world):
        await admin(world, "repost unwatch", {"channel": world.memes})
        await world.post(world.memes, world.alice, CHELSEA)
        await world.post(world.general, world.alice, ROCKET)
        await quiet(world, 1)


async def test_threads_are_watched_and_alerts_reply_there(world: World) -> None:
    thread = world.fake.add_thread(world.general, "cat pics")
    async with seenit_running(world):
        original = await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        await world.post(thread, world.bob, variant("chelsea.jpg", "half size"))
        alert = await world.fake.wait_for_message(thread)
        assert jump(world, world.general, original) in text_of(alert)


async def test_exempt_members_and_roles_are_not_alerted(world: World) -> None:
    trusted = world.fake.add_role(world.guild, "trusted")
    dave = world.fake.add_member(world.guild, "dave", roles=[trusted])
    async with seenit_running(world):
        await admin(world, "repost exempt", {"target": trusted})
        await admin(world, "repost exempt", {"target": world.bob})
        await world.post(world.general, world.alice, ROCKET)
        await world.settled(1)
        await world.post(world.general, dave, variant("rocket.jpg", "half size"))
        await world.post(world.general, world.bob, variant("rocket.jpg", "webp"))
        await quiet(world, 3)
        assert world.fake.bot_messages_in(world.general) == []
        await world.post(world.general, world.carol, variant("rocket.jpg", "jpeg q40"))
        await world.fake.wait_for_message(world.general)


async def test_allowed_images_never_alert(world: World) -> None:
    async with seenit_running(world):
        reaction = await world.post(world.general, world.alice, ASTRONAUT)
        await world.settled(1)
        text = await admin(world, "repost allow", {"message": jump(world, world.general, reaction)})
        assert "Allowed 1 image" in text
        await world.post(world.general, world.bob, variant("astronaut.jpg", "jpeg q40"))
        await quiet(world, 2)
        assert world.fake.bot_messages_in(world.general) == []


async def test_scope_channel_and_own_posts(world: World) -> None:
    async with seenit_running(world):
        await admin(world, "repost scope", {"scope": "channel", "ignore_own_posts": False})
        await world.post(world.general, world.alice, COFFEE)
        await world.settled(1)
        await world.post(world.memes, world.bob, variant("coffee.jpg", "webp"))
        await quiet(world, 2)
        assert world.fake.bot_messages_in(world.memes) == []
        # The author's own earlier post alerts once that is switched on.
        await world.post(world.general, world.alice, variant("coffee.jpg", "half size"))
        await world.fake.wait_for_message(world.general)


async def test_images_in_link_previews_are_read_through_the_media_proxy(world: World) -> None:
    hosted = world.fake.messaging.store_attachment(world.general.id, "cat.jpg", CHELSEA[1])
    preview = {
        "type": "image",
        "url": "https://images.example.com/cat.jpg",
        "thumbnail": {
            "url": "https://images.example.com/cat.jpg",
            "proxy_url": hosted["proxy_url"],
            "width": 400,
            "height": 266,
        },
    }
    async with seenit_running(world):
        original = await world.fake.post_message(
            world.general, world.alice, "https://images.example.com/cat.jpg", embeds=[preview]
        )
        await world.settled(1)
        media = world.fake.requests_matching("GET", "/media/*")
        assert media, "the preview must be fetched through proxy_url"
        await world.post(world.memes, world.bob, variant("chelsea.jpg", "mirrored"))
        alert = await world.fake.wait_for_message(world.memes)
        assert jump(world, world.general, original) in text_of(alert)


async def test_large_previews_are_asked_of_the_proxy_at_a_reduced_size(world: World) -> None:
    hosted = world.fake.messaging.store_attachment(world.general.id, "big.jpg", ROCKET[1])
    preview = {
        "type": "image",
        "url": "https://images.example.com/big.jpg",
        "image": {
            "url": "https://images.example.com/big.jpg",
            "proxy_url": hosted["proxy_url"],
            "width": 4000,
            "height": 3000,
        },
    }
    async with seenit_running(world):
        await world.fake.post_message(world.general, world.alice, "look", embeds=[preview])
        await world.settled(1)
        (fetch,) = world.fake.requests_matching("GET", "/media/*")
        assert fetch.query.get("width") == "1024" and fetch.query.get("height") == "768"


async def test_other_bots_are_ignored(world: World) -> None:
    robot = world.fake.add_member(world.guild, "robot", bot=True)
    async with seenit_running(world):
        await world.post(world.general, robot, CHELSEA)
        await world.post(world.general, world.alice, ROCKET)
        await quiet(world, 1)


async def test_reposts_are_deleted_only_with_manage_messages(world: World) -> None:
    async with seenit_running(world):
        await admin(world, "repost alerts", {"style": "reply", "delete_reposts": True})
        await world.post(world.general, world.alice, ROCKET)
        await world.settled(1)
        kept = await world.post(world.general, world.bob, variant("rocket.jpg", "webp"))
        await world.fake.wait_for_message(world.general)
        assert world.fake.get_message(kept) is not None  # no Manage Messages: not deleted
        bot_role = world.fake.bot_role(world.guild)
        from tests.fakediscord import permissions as perms

        world.fake.set_role_permissions(bot_role, bot_role.permissions | perms.MANAGE_MESSAGES)
        gone = await world.post(world.general, world.carol, variant("rocket.jpg", "half size"))
        await world.fake.wait_until(
            lambda: world.fake.get_message(gone) is None, timeout=10, what="repost deleted"
        )


async def test_stats_count_images_reposts_and_reposters(world: World) -> None:
    async with seenit_running(world):
        await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        for n, edit in enumerate(("webp", "half size"), 2):
            await world.post(world.general, world.bob, variant("chelsea.jpg", edit))
            await world.settled(n)
        await world.fake.wait_until(
            lambda: len(world.fake.bot_messages_in(world.general)) == 2, what="two alerts"
        )
        text = await admin(world, "repost stats")
        assert "**3** images indexed" in text and "**2** reposts caught" in text
        assert f"<@{world.bob.user.id}>: 2" in text


async def test_deleted_channels_are_forgotten_and_left_guilds_after_a_grace_period(
    world: World,
) -> None:
    async with seenit_running(world):
        await world.post(world.memes, world.alice, CHELSEA)
        await world.post(world.general, world.alice, COFFEE)
        await world.settled(2)
        await world.fake.delete_channel(world.memes)
        await world.settled(1)
        await world.fake.remove_guild(world.guild)
        await asyncio.sleep(0.2)
        await world.bot.ingest.purge_departed()
        await world.settled(1)  # kept during the grace period (7 days by default)
        service = world.bot.service
        left_at = service.clock()
        service.clock = lambda: left_at + 8 * 24 * 3600 * 1000
        await world.bot.ingest.purge_departed()
        await world.settled(0)


async def test_a_guild_left_with_no_grace_is_forgotten_at_once(world: World) -> None:
    async with seenit_running(world, guild_data_grace_days=0):
        await world.post(world.general, world.alice, COFFEE)
        await world.settled(1)
        await world.fake.remove_guild(world.guild)
        await world.settled(0)


async def test_purge_needs_the_servers_name(world: World) -> None:
    async with seenit_running(world):
        await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        assert "Nothing deleted" in await admin(world, "repost purge", {"confirm": "yes"})
        await world.settled(1)
        await admin(world, "repost purge", {"confirm": world.guild.name})
        await world.settled(0)


async def test_alert_buttons_explain_and_refuse_non_moderators(world: World) -> None:
    async with seenit_running(world):
        await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        await world.post(world.general, world.bob, variant("chelsea.jpg", "mirrored"))
        alert = await world.fake.wait_for_message(world.general)
        assert set(buttons(alert)) == {"Why?", "Not a repost", "Allow this image", "Delete alert"}
        why = await press(world, world.carol, alert, "Why?")
        assert "mirrored" in why and "of 256" in why
        refused = await press(world, world.carol, alert, "Not a repost")
        assert "moderators" in refused.lower()
        assert await world.bot.service.store.not_reposts(world.guild.id) == []


async def test_not_a_repost_is_remembered_for_that_pair(world: World) -> None:
    async with seenit_running(world):
        await world.post(world.general, world.alice, ROCKET)
        await world.settled(1)
        await world.post(world.general, world.bob, variant("rocket.jpg", "webp"))
        alert = await world.fake.wait_for_message(world.general)
        await press(world, world.mod, alert, "Not a repost")
        await world.fake.wait_until(
            lambda: "not a repost" in text_of(world.fake.get_message(alert) or {}),
            what="the alert marked as handled",
        )
        assert buttons(world.fake.get_message(alert) or {}) == {}
        # Bob posts his picture again: not called a repost of alice's any more (and his own
        # earlier post does not count against him).
        await world.post(world.general, world.bob, variant("rocket.jpg", "webp"))
        await quiet(world, 3)
        assert len(world.fake.bot_messages_in(world.general)) == 1


async def test_allow_and_delete_buttons(world: World) -> None:
    async with seenit_running(world):
        await world.post(world.general, world.alice, COFFEE)
        await world.settled(1)
        await world.post(world.general, world.bob, variant("coffee.jpg", "webp"))
        alert = await world.fake.wait_for_message(world.general)
        # The poster may delete the alert about their own post.
        await press(world, world.bob, alert, "Delete alert")
        await world.fake.wait_until(lambda: world.fake.get_message(alert) is None, what="deleted")
        await world.post(world.general, world.carol, variant("coffee.jpg", "half size"))
        second = await world.fake.wait_for_message(world.general)
        await press(world, world.mod, second, "Allow this image")
        await world.post(world.general, world.alice, variant("coffee.jpg", "grayscale"))
        await quiet(world, 4)
        assert [m["id"] for m in world.fake.bot_messages_in(world.general)] == [second["id"]]


async def test_alert_pictures_and_the_stats_chart(world: World) -> None:
    async with seenit_running(world):
        await admin(world, "repost alerts", {"style": "reply", "pictures": True})
        await world.post(world.general, world.alice, ASTRONAUT)
        await world.settled(1)
        await world.post(world.general, world.bob, variant("astronaut.jpg", "half size"))
        alert = await world.fake.wait_for_message(world.general, timeout=10)
        assert [a["filename"] for a in alert["attachments"]] == ["comparison.webp"]
        rec = await world.fake.slash_command(world.guild, world.general, world.mod, "repost stats")
        answer = await rec.wait_final(timeout=10)
        (chart,) = answer["attachments"]
        assert chart["filename"] == "stats.webp"
        import io

        from PIL import Image

        picture = Image.open(io.BytesIO(world.fake.attachment_bytes(chart)))
        assert picture.width == 720
        assert "Reposts per week" in text_of(answer)


async def test_forgetme_deletes_only_the_members_images(world: World) -> None:
    async with seenit_running(world):
        await world.post(world.general, world.alice, CHELSEA)
        await world.post(world.general, world.bob, COFFEE)
        await world.settled(2)
        rec = await world.fake.slash_command(world.guild, world.general, world.alice, "forgetme")
        assert "confirm" in text_of(await rec.wait_final())
        await world.settled(2)
        rec = await world.fake.slash_command(
            world.guild, world.general, world.alice, "forgetme", {"confirm": True}
        )
        assert "1 image" in text_of(await rec.wait_final())
        await world.settled(1)
        # Alice's picture is no longer anyone's "original".
        await world.post(world.general, world.carol, variant("chelsea.jpg", "webp"))
        await quiet(world, 2)
        assert world.fake.bot_messages_in(world.general) == []


async def test_searches_have_a_per_member_cooldown(world: World) -> None:
    async with seenit_running(world):
        answers = []
        for _ in range(7):
            rec = await world.fake.slash_command(
                world.guild, world.general, world.alice, "findsimilar", {"image": COFFEE}
            )
            answers.append(text_of(await rec.wait_final(timeout=10)))
        assert "Slow down" not in answers[5] and "Slow down" in answers[6]
        # Another member is not affected.
        rec = await world.fake.slash_command(
            world.guild, world.general, world.bob, "findsimilar", {"image": COFFEE}
        )
        assert "Slow down" not in text_of(await rec.wait_final(timeout=10))

"""Message edits through the fake Discord: link previews that arrive later, attachments and
previews taken away. The bot reacts to the raw MESSAGE_UPDATE, cached message or not."""

from __future__ import annotations

from tests.botworld import World, jump, seenit_running, text_of
from tests.conftest import DATA, VARIANTS, photo

CHELSEA = ("chelsea.jpg", (DATA / "chelsea.jpg").read_bytes())
COFFEE = ("coffee.jpg", (DATA / "coffee.jpg").read_bytes())
ROCKET = ("rocket.jpg", (DATA / "rocket.jpg").read_bytes())


def mirrored(name: str) -> tuple[str, bytes]:
    return (f"mirrored-{name}", VARIANTS["mirrored"](photo(name)))


async def slots(world: World, message: dict[str, object]) -> list[int]:
    rows = await world.bot.service.images_in_message(world.guild.id, int(str(message["id"])))
    return [r.slot for r in rows]


async def no_alert_after(world: World, message: dict[str, object]) -> None:
    """Once the bot has handled everything it received, no alert went out after ``message``."""
    await world.idle()
    replies = [
        m for m in world.fake.bot_messages_in(message["channel_id"]) if m["id"] > message["id"]
    ]
    assert replies == [], [text_of(m) for m in replies]


async def test_a_link_preview_that_shows_a_repost_gets_an_alert(
    world: World, no_logged_errors: None
) -> None:
    async with seenit_running(world):
        original = await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        link = "https://pics.example/cat.jpg"
        post = await world.fake.post_message(world.memes, world.bob, f"look {link}")
        await no_alert_after(world, post)
        # Discord fetches the link and adds the preview a moment later.
        preview = world.fake.link_preview(world.memes, link, *mirrored("chelsea.jpg"))
        await world.fake.unfurl(world.memes, post, [preview])
        alert = await world.fake.wait_for_message(world.memes, after=post)
        assert alert["message_reference"]["message_id"] == post["id"]
        assert jump(world, world.general, original) in text_of(alert)
        await world.settled(2)
        # Editing the text afterwards neither stores nor alerts again.
        await world.fake.edit_message(world.memes, post, content=f"look at this {link}")
        await world.idle()
        assert len(world.fake.bot_messages_in(world.memes)) == 1
        assert await world.bot.service.store.count_images(world.guild.id) == 2


async def test_hiding_a_preview_forgets_its_image_at_once(
    world: World, no_logged_errors: None
) -> None:
    async with seenit_running(world):
        link = "https://pics.example/rocket.jpg"
        post = await world.fake.post_message(world.general, world.bob, link)
        await world.fake.unfurl(
            world.general, post, [world.fake.link_preview(world.general, link, *ROCKET)]
        )
        await world.settled(1)
        await world.fake.edit_message(world.general, post, suppress_embeds=True)
        await world.settled(0)
        repost = await world.post(world.memes, world.carol, ROCKET)
        await world.settled(1)
        await no_alert_after(world, repost)


async def test_removing_an_attachment_forgets_it_even_after_a_restart(
    world: World, no_logged_errors: None
) -> None:
    async with seenit_running(world):
        both = await world.post(world.general, world.alice, CHELSEA, COFFEE)
        await world.settled(2)
    # A new process: the message is not in discord.py's cache, only the raw event arrives.
    async with seenit_running(world):
        downloads = len(world.fake.requests_matching("GET", "/attachments/*"))
        await world.fake.edit_message(world.general, both, content="only the coffee now")
        await world.idle()
        # A text edit of pictures members cannot change: nothing downloaded again.
        assert len(world.fake.requests_matching("GET", "/attachments/*")) == downloads
        coffee = both["attachments"][1]
        await world.fake.edit_message(world.general, both, keep_attachments=[coffee])
        await world.settled(1)
        await world.idle()  # the slots renumbered: the count drops before the edit is done
        # The coffee is now the message's first attachment, and stays a findable original.
        assert await slots(world, both) == [0]
        chelsea_again = await world.post(world.memes, world.carol, mirrored("chelsea.jpg"))
        await world.settled(2)
        await no_alert_after(world, chelsea_again)
        coffee_again = await world.post(world.memes, world.bob, mirrored("coffee.jpg"))
        alert = await world.fake.wait_for_message(world.memes, after=coffee_again)
        assert jump(world, world.general, both) in text_of(alert)
        rec = await world.fake.slash_command(
            world.guild, world.memes, world.bob, "findsimilar", {"image": CHELSEA}
        )
        assert jump(world, world.general, both) not in text_of(await rec.wait_final(timeout=10))
    assert world.fake.internal_errors == []

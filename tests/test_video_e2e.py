"""Video and animation reposts end to end: the real client, the fake Discord, a SQLite file."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.botworld import World, jump, seenit_running, text_of
from tests.clipmaker import clip, jpeg, still_of
from tests.support import buttons

pytestmark = pytest.mark.usefixtures("no_logged_errors")

CLIP = ("cat.mp4", clip())


async def test_a_trimmed_video_repost_raises_an_alert_naming_the_edit(world: World) -> None:
    async with seenit_running(world):
        original = await world.post(world.general, world.alice, CLIP)
        await world.settled(1)
        await world.post(world.general, world.bob, ("rocket.webm", clip("rocket.jpg", "webm")))
        await world.settled(2)
        repost = await world.post(
            world.memes, world.bob, ("cat_short.webm", clip(container="webm", trim=(0.25, 0.9)))
        )
        alert = await world.fake.wait_for_message(world.memes)
        assert alert["message_reference"]["message_id"] == repost["id"]
        text = text_of(alert)
        assert jump(world, world.general, original) in text
        assert "this is a trimmed copy of the original" in text
        assert world.fake.bot_messages_in(world.general) == []  # the other clip: no alert
        # "Why?" compares the two clips again and says the same.
        rec = await world.fake.press_button(
            world.guild, world.memes, world.carol, message=alert, custom_id=buttons(alert)["Why?"]
        )
        why = text_of(await rec.wait_final(timeout=30))
        assert "What changed: this is a trimmed copy of the original" in why


async def test_a_gif_made_from_a_clip_and_a_frame_of_it_are_reposts(world: World) -> None:
    async with seenit_running(world):
        original = await world.post(world.general, world.alice, CLIP)
        await world.settled(1)
        await world.post(
            world.memes, world.bob, ("cat.gif", clip(container="gif", trim=(0.3, 0.7)))
        )
        alert = await world.fake.wait_for_message(world.memes)
        assert "this is a GIF made from the original" in text_of(alert)
        assert jump(world, world.general, original) in text_of(alert)
        await world.post(world.memes, world.carol, ("frame.jpg", jpeg(still_of(at=0.5))))
        second = await world.fake.wait_for_message(
            world.memes, lambda m: "a frame of" in text_of(m)
        )
        assert "this is a frame of the original" in text_of(second)


async def test_findsimilar_with_a_clip_and_with_a_still_frame(world: World) -> None:
    async with seenit_running(world):
        original = await world.post(world.general, world.alice, CLIP)
        await world.settled(1)
        rec = await world.fake.slash_command(
            world.guild,
            world.memes,
            world.bob,
            "findsimilar",
            {"image": ("part.webm", clip(container="webm", trim=(0.1, 0.6)))},
        )
        answer = await rec.wait_final(timeout=20)
        assert rec.ephemeral
        assert jump(world, world.general, original) in text_of(answer)
        assert "yours is a trimmed copy of it" in text_of(answer)
        # The comparison picture shows a frame of each clip, not the "image gone" tile.
        (attachment,) = answer["attachments"]
        picture = Image.open(io.BytesIO(world.fake.attachment_bytes(attachment))).convert("L")
        assert picture.getextrema()[1] - picture.getextrema()[0] > 100
        rec = await world.fake.slash_command(
            world.guild,
            world.memes,
            world.bob,
            "findsimilar",
            {"image": ("frame.jpg", jpeg(still_of(at=0.8)))},
        )
        answer = await rec.wait_final(timeout=20)
        assert jump(world, world.general, original) in text_of(answer)
        assert "yours is a frame of it" in text_of(answer)


async def test_a_deleted_video_is_forgotten(world: World) -> None:
    async with seenit_running(world):
        original = await world.post(world.general, world.alice, CLIP)
        await world.settled(1)
        await world.fake.delete_message(world.general, original)
        await world.settled(0)
        await world.post(world.memes, world.bob, ("cat.mov", clip(container="mov")))
        await world.settled(1)
        rec = await world.fake.slash_command(
            world.guild, world.memes, world.carol, "findsimilar", {"image": CLIP}
        )
        answer = await rec.wait_final(timeout=20)
        assert jump(world, world.general, original) not in text_of(answer)
        assert world.fake.bot_messages_in(world.memes) == []


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


TENOR = "https://tenor.com/view/cat-pan-gif-18274655"
#: Tenor's MP4 of the pan, and its poster: the first frame.
TENOR_CLIP = clip(size=(160, 120))
TENOR_STILL = png(still_of(at=0.0))


async def test_a_tenor_gif_is_read_as_its_clip_and_a_trimmed_copy_alerts(world: World) -> None:
    world.fake.add_gif(TENOR, TENOR_CLIP, TENOR_STILL)
    async with seenit_running(world):
        original = await world.fake.post_message(world.general, world.alice, f"same {TENOR}")
        await world.settled(1)
        # Discord's gifv embed: the video is fetched through the media proxy, not the poster.
        fetched = {r.path for r in world.fake.requests_matching("GET", "/media/*")}
        assert len(fetched) == 1 and fetched.pop().endswith(".mp4"), fetched
        # The last 60% of the clip shares no frame with the poster: only the clip matches it.
        repost = await world.post(
            world.memes, world.bob, ("end.mp4", clip(container="mp4", trim=(0.4, 1.0)))
        )
        alert = await world.fake.wait_for_message(world.memes)
        assert alert["message_reference"]["message_id"] == repost["id"]
        assert jump(world, world.general, original) in text_of(alert)
        assert "this is a trimmed copy of the original" in text_of(alert)


async def test_the_same_tenor_gif_posted_twice_alerts_on_the_second(world: World) -> None:
    world.fake.add_gif(TENOR, TENOR_CLIP, TENOR_STILL)
    async with seenit_running(world):
        original = await world.post(
            world.general, world.alice, ("cat.webm", clip(container="webm"))
        )
        await world.settled(1)
        first = await world.fake.post_message(world.memes, world.bob, TENOR)
        alert = await world.fake.wait_for_message(world.memes, after=first)
        assert alert["message_reference"]["message_id"] == first["id"]
        assert jump(world, world.general, original) in text_of(alert)
        await world.settled(2)
        second = await world.fake.post_message(world.general, world.carol, f"lol {TENOR}")
        again = await world.fake.wait_for_message(world.general, after=second)
        assert again["message_reference"]["message_id"] == second["id"]
        # A link in <...> is not previewed: nothing to read, no alert.
        quiet = await world.fake.post_message(world.memes, world.alice, f"<{TENOR}>")
        await world.idle()
        assert [m for m in world.fake.bot_messages_in(world.memes) if m["id"] > quiet["id"]] == []


async def test_a_gifv_without_a_proxied_video_is_read_from_its_poster(world: World) -> None:
    # Discord's video object may lack proxy_url; seenit never fetches the site's own link.
    preview = world.fake.gifv_preview(world.general, TENOR, TENOR_CLIP, TENOR_STILL)
    del preview["video"]["proxy_url"]
    async with seenit_running(world):
        await world.fake.post_message(world.general, world.alice, TENOR, embeds=[preview])
        await world.settled(1)
        fetched = {r.path for r in world.fake.requests_matching("GET", "/media/*")}
        assert len(fetched) == 1 and fetched.pop().endswith(".png"), fetched

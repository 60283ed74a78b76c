"""The local stage end to end: cropped and captioned reposts, meme templates, scans."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from bot.hashing import Fingerprint, fingerprint
from bot.records import NewImage
from bot.store import open_store
from tests.botworld import World, admin, jump, seenit_running, text_of
from tests.conftest import DATA, encode, photo
from tests.support import buttons

pytestmark = pytest.mark.usefixtures("no_logged_errors")

CHELSEA = ("chelsea.jpg", (DATA / "chelsea.jpg").read_bytes())


def cropped(name: str, share: float = 0.15) -> bytes:
    """The picture with ``share`` of its width and height cut off at the top left."""
    image = photo(name)
    return encode(image.crop((int(image.width * share), int(image.height * share), *image.size)))


def captioned(name: str, text: str) -> bytes:
    """The picture under a white caption bar, as meme generators make them."""
    image = photo(name)
    bar = image.height * 22 // 100
    out = Image.new("RGB", (image.width, image.height + bar), "white")
    out.paste(image, (0, bar))
    font = ImageFont.load_default(size=max(12, bar // 3))
    ImageDraw.Draw(out).text((10, bar // 4), text, fill="black", font=font)
    return encode(out)


async def press(world: World, who: Any, channel: Any, alert: dict[str, Any], label: str) -> str:
    """``who`` presses a button under an alert in ``channel``; the answer's text."""
    rec = await world.fake.press_button(
        world.guild, channel, who, message=alert, custom_id=buttons(alert)[label]
    )
    return text_of(await rec.wait_final(timeout=10))


async def no_alert(world: World, images: int) -> None:
    """Wait until the bot stored ``images``, then a moment for any alert to go out."""
    await world.settled(images)
    await asyncio.sleep(0.3)
    for channel in (world.general, world.memes):
        assert world.fake.bot_messages_in(channel) == []


async def test_a_cropped_repost_alerts_and_says_it_was_cropped(world: World) -> None:
    async with seenit_running(world):
        original = await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        repost = await world.post(world.memes, world.bob, ("crop.jpg", cropped("chelsea.jpg")))
        alert = await world.fake.wait_for_message(world.memes, timeout=10)
        assert alert["message_reference"]["message_id"] == repost["id"]
        assert jump(world, world.general, original) in text_of(alert)
        text = text_of(alert)
        assert jump(world, world.general, original) in text
        assert "cropped" in text
        why = await press(world, world.carol, world.memes, alert, "Why?")
        assert "What changed: cropped" in why and "line up" in why
        # A member looking the crop up finds the original too, saying how it differs.
        rec = await world.fake.slash_command(
            world.guild,
            world.general,
            world.carol,
            "findsimilar",
            {"message": jump(world, world.memes, repost)},
        )
        found = text_of(await rec.wait_final(timeout=10))
        assert jump(world, world.general, original) in found and "cropped" in found


async def test_a_captioned_repost_alerts_and_says_it_was_captioned(world: World) -> None:
    async with seenit_running(world):
        original = await world.post(
            world.general, world.alice, ("rocket.jpg", encode(photo("rocket.jpg")))
        )
        await world.settled(1)
        await world.post(world.memes, world.bob, ("meme.jpg", captioned("rocket.jpg", "LIFTOFF")))
        alert = await world.fake.wait_for_message(world.memes, timeout=10)
        text = text_of(alert)
        assert jump(world, world.general, original) in text
        assert "captioned" in text


async def test_meme_templates_alert_only_when_the_server_asks(world: World) -> None:
    async with seenit_running(world):
        first = await world.post(
            world.general, world.alice, ("a.jpg", captioned("coffee.jpg", "MONDAY MORNING"))
        )
        await world.settled(1)
        second = await world.post(
            world.general, world.bob, ("b.jpg", captioned("coffee.jpg", "friday afternoon"))
        )
        await no_alert(world, 2)
        # Looking the second one up shows the first as the same template, not a repost.
        rec = await world.fake.slash_command(
            world.guild,
            world.general,
            world.carol,
            "findsimilar",
            {"message": jump(world, world.general, second)},
        )
        found = text_of(await rec.wait_final(timeout=10))
        assert jump(world, world.general, first) in found and "same template" in found
        # The same captioned meme posted again is a repost, templates or not.
        again = await world.post(
            world.memes, world.carol, ("c.jpg", captioned("coffee.jpg", "MONDAY MORNING"))
        )
        alert = await world.fake.wait_for_message(world.memes, after=again, timeout=10)
        assert jump(world, world.general, first) in text_of(alert)
        await admin(world, "repost sensitivity", {"templates": "alert"})
        await world.post(
            world.staff, world.carol, ("d.jpg", captioned("coffee.jpg", "never again"))
        )
        alert = await world.fake.wait_for_message(world.staff, timeout=10)
        assert "same template" in text_of(alert)


async def stored_by_an_older_seenit(
    world: World,
    message: dict[str, Any],
    fp: Fingerprint,
    local_data: bytes | None = None,
    local_words: bytes | None = None,
    quality: int | None = None,
) -> None:
    """Store alice's image in #general as an earlier seenit did: hashes, no colour, and the
    local features and detail score given (none, and today's score, by default)."""
    async with open_store(world.db_url) as store:
        record = NewImage(
            world.guild.id,
            world.general.id,
            int(message["id"]),
            world.alice.user.id,
            0,
            1_700_000_000_000,
            fp.phash64,
            fp.phash256,
            fp.quality if quality is None else quality,
            local_data,
            local_words,
        )
        await store.add_images([record])


async def test_a_scan_gives_older_images_local_features(world: World) -> None:
    # An image indexed by an earlier seenit, with no local features: a crop of it is missed.
    old = await world.post(world.general, world.alice, CHELSEA)
    await stored_by_an_older_seenit(world, old, fingerprint(CHELSEA[1]))
    async with seenit_running(world):
        await world.post(world.memes, world.bob, ("crop.jpg", cropped("chelsea.jpg")))
        await no_alert(world, 2)
        await world.fake.slash_command(
            world.guild, world.staff, world.mod, "repost scan", {"channel": world.general}
        )
        final = await world.fake.wait_for_message(
            world.staff, lambda m: m["content"].startswith("Scanned"), timeout=20
        )
        assert "1 older image updated" in final["content"]
        await world.post(world.memes, world.carol, ("crop2.jpg", cropped("chelsea.jpg", 0.12)))
        alert = await world.fake.wait_for_message(world.memes, timeout=10)
        text = text_of(alert)
        assert jump(world, world.general, old) in text and "cropped" in text


def _captioned_block(colour: tuple[int, int, int]) -> bytes:
    """One caption over a flat block of ``colour`` with a white sticker in its corner: the
    block has little else to tell (a plain block under a caption would show no picture at
    all, and never match)."""
    out = Image.new("RGB", (576, 1250), "white")
    out.paste(Image.new("RGB", (576, 1024), colour), (0, 226))
    draw = ImageDraw.Draw(out)
    draw.ellipse((400, 1060, 540, 1200), fill="white")
    font = ImageFont.load_default(size=40)
    draw.text((20, 90), "NOBODY: ABSOLUTELY NOBODY:", fill="black", font=font)
    return encode(out)


async def test_a_scan_gives_older_features_their_colour(world: World) -> None:
    # Features stored before seenit kept colour: the same caption over a maroon block is
    # one image to the grey hashes. A scan reads the image again and stores its colour.
    from bot.local.features import MAGIC_V1

    purple = ("purple.png", _captioned_block((178, 103, 194)))
    old = await world.post(world.general, world.alice, purple)
    fp = fingerprint(purple[1])
    assert fp.local is not None and fp.local.colour is not None
    colourless = MAGIC_V1 + fp.local.to_bytes()[4 : -(2 + fp.local.colour.size)]
    await stored_by_an_older_seenit(world, old, fp, colourless, fp.local.words)
    async with seenit_running(world):
        await world.post(world.memes, world.bob, ("maroon.png", _captioned_block((152, 47, 84))))
        first = await world.fake.wait_for_message(world.memes, timeout=10)
        assert jump(world, world.general, old) in text_of(first)
        await world.fake.slash_command(
            world.guild, world.staff, world.mod, "repost scan", {"channel": world.general}
        )
        await world.fake.wait_for_message(
            world.staff, lambda m: m["content"].startswith("Scanned"), timeout=20
        )
        async with open_store(world.db_url) as store:
            ids, _ = await store.load_local_words(world.guild.id)
            blobs = await store.local_features(ids)
        assert len(blobs) == 2 and all(blob[:4] != MAGIC_V1 for blob in blobs.values())
        async with open_store(world.db_url) as store:
            (stored,) = await store.images_in_message(world.guild.id, int(old["id"]))
        assert stored.colour == fp.colour
        await world.post(world.memes, world.carol, ("blue.png", _captioned_block((30, 90, 200))))
        await world.settled(3)
        await asyncio.sleep(0.3)
        assert len(world.fake.bot_messages_in(world.memes)) == 1


async def test_the_templates_setting_changes_alone(world: World) -> None:
    async with seenit_running(world):
        text = await admin(world, "repost settings")
        assert "Meme templates: ignored" in text
        await admin(world, "repost sensitivity", {"level": "strict", "threshold": 20})
        text = await admin(world, "repost sensitivity", {"templates": "alert"})
        assert "Meme templates: alerted" in text
        settings = await world.bot.service.settings(world.guild.id)
        assert (settings.templates, settings.sensitivity, settings.threshold) == (
            "alert",
            "strict",
            20,
        )
        await admin(world, "repost sensitivity", {"level": "normal"})
        settings = await world.bot.service.settings(world.guild.id)
        assert (settings.templates, settings.sensitivity, settings.threshold) == (
            "alert",
            "normal",
            None,
        )


def stamped_stripes(period: float, shade: float) -> Image.Image:
    """A dark wallpaper of fine vertical stripes with a handle stamped in its corner: the
    stripes hold no low frequencies, so the stamp is most of what a global hash sees."""
    import numpy as np

    from tests.test_local import _stamped

    x = np.arange(800)
    row = 40 + 25 * np.sign(np.sin(x / period))
    pixels = np.repeat(row[None, :], 600, axis=0) + shade * np.linspace(0, 1, 600)[:, None]
    picture = Image.fromarray(np.uint8(np.clip(pixels, 0, 255))).convert("RGB")
    return _stamped(picture)


async def test_two_wallpapers_sharing_a_watermark_are_not_reposts(world: World) -> None:
    from bot.matching import judge, judge_pair

    first, second = stamped_stripes(4.0, 20.0), stamped_stripes(4.4, 0.0)
    # The global hashes match; the local stage shows two different pictures.
    stored = fingerprint(encode(first, quality=90))
    query = fingerprint(encode(second, quality=90))
    assert judge(query, stored).repost and not judge_pair(query, stored).repost
    async with seenit_running(world):
        original = await world.post(
            world.general, world.alice, ("wood.jpg", encode(first, quality=90))
        )
        await world.settled(1)
        await world.post(world.general, world.bob, ("oak.jpg", encode(second, quality=90)))
        await no_alert(world, 2)
        # A smaller copy of the first is still a repost.
        small = first.resize((600, 450))
        repost = await world.post(
            world.memes, world.carol, ("small.jpg", encode(small, quality=85))
        )
        alert = await world.fake.wait_for_message(world.memes, timeout=10)
        assert alert["message_reference"]["message_id"] == repost["id"]
        assert jump(world, world.general, original) in text_of(alert)


def _caption_over_plain(colour: tuple[int, int, int]) -> bytes:
    """One caption over a plain block: no picture, only the caption."""
    out = Image.new("RGB", (576, 1250), "white")
    out.paste(Image.new("RGB", (576, 1024), colour), (0, 226))
    font = ImageFont.load_default(size=40)
    ImageDraw.Draw(out).text((20, 90), "NOBODY: ABSOLUTELY NOBODY:", fill="black", font=font)
    return encode(out)


async def test_a_caption_over_a_plain_block_never_alerts_and_a_search_says_why(
    world: World,
) -> None:
    meme = ("plain.png", _caption_over_plain((152, 47, 84)))
    coffee = ("coffee.jpg", (DATA / "coffee.jpg").read_bytes())
    async with seenit_running(world):
        await world.post(world.general, world.alice, meme)
        await world.settled(1)
        await world.post(world.memes, world.bob, meme)
        await world.settled(2)
        await world.post(world.memes, world.carol, ("blue.png", _caption_over_plain((30, 90, 200))))
        await world.settled(3)
        # A picture posted twice after them: its alert is the first and only one in #memes.
        original = await world.post(world.general, world.alice, coffee)
        await world.settled(4)
        await world.post(world.memes, world.bob, coffee)
        first = await world.fake.wait_for_message(world.memes, timeout=10)
        assert jump(world, world.general, original) in text_of(first)
        await world.settled(5)
        await world.idle()
        assert len(world.fake.bot_messages_in(world.memes)) == 1
        rec = await world.fake.slash_command(
            world.guild, world.memes, world.carol, "findsimilar", {"image": meme}
        )
        answer = await rec.wait_final(timeout=10)
        assert "almost blank" in text_of(answer)


async def test_a_scan_scores_an_older_blank_under_a_caption_as_blank(world: World) -> None:
    # An earlier seenit scored the caption over a plain block as a picture; a scan reads it
    # again and stores today's score, so it is nobody's candidate any more.
    meme = ("plain.png", _caption_over_plain((152, 47, 84)))
    old = await world.post(world.general, world.alice, meme)
    fp = fingerprint(meme[1])
    assert fp.quality == 0
    await stored_by_an_older_seenit(world, old, fp, quality=60)
    async with seenit_running(world):
        await world.fake.slash_command(
            world.guild, world.staff, world.mod, "repost scan", {"channel": world.general}
        )
        final = await world.fake.wait_for_message(
            world.staff, lambda m: m["content"].startswith("Scanned"), timeout=20
        )
        assert "1 older image updated" in final["content"]
    async with open_store(world.db_url) as store:
        (stored,) = await store.images_in_message(world.guild.id, int(old["id"]))
    assert stored.quality == 0

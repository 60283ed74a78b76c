"""The pictures in docs/examples, drawn from what the fake Discord recorded seenit sending.

Each test drives seenit end to end, checks what a member would see, then draws the message
with tests/payload_picture.py. The PNGs are only written to docs/examples when
SEENIT_WRITE_EXAMPLES=1 (otherwise to a temporary directory, so the renderer is still run).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.i18n import ENGLISH
from tests.botworld import World, admin, jump, seenit_running, text_of
from tests.fakediscord import Overwrite
from tests.fakediscord import permissions as perms
from tests.payload_picture import render_message, save_png
from tests.support import CHELSEA, COFFEE, ROCKET, buttons, variant

pytestmark = pytest.mark.usefixtures("no_logged_errors")

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
ALERT_BUTTONS = ["Why?", "Not a repost", "Allow this image", "Delete alert"]


def names(world: World) -> dict[str, str]:
    """Id -> name of the world's members and channels, for mentions."""
    people = [world.alice, world.bob, world.carol, world.mod]
    out = {str(p.user.id): p.user.username for p in people}
    out.update({str(c.id): c.name for c in (world.general, world.memes, world.staff)})
    return out


def attachments_of(world: World, message: dict[str, Any]) -> dict[str, bytes]:
    return {a["filename"]: world.fake.attachment_bytes(a) for a in message["attachments"]}


def picture(world: World, message: dict[str, Any], filename: str) -> Image.Image:
    """The attached picture ``filename``, decoded (it must be there and readable)."""
    data = attachments_of(world, message)[filename]
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def draw(world: World, message: dict[str, Any], name: str, tmp_path: Path) -> Image.Image:
    """Render the message and save it as docs/examples/<name> (or in tmp_path)."""
    rendered = render_message(message, attachments_of(world, message), names(world))
    folder = EXAMPLES if os.environ.get("SEENIT_WRITE_EXAMPLES") == "1" else tmp_path
    save_png(rendered, folder / name)
    assert rendered.width == 800 and rendered.height > 100
    with Image.open(folder / name) as written:
        assert written.format == "PNG"
    return rendered


async def alert_with_picture(world: World) -> dict[str, Any]:
    """Alerts with pictures on; alice posts a photo, bob reposts it mirrored in #memes."""
    await admin(world, "repost alerts", {"style": "reply", "pictures": True})
    await world.post(world.general, world.alice, CHELSEA)
    await world.settled(1)
    repost = await world.post(world.memes, world.bob, variant("chelsea.jpg", "mirrored"))
    alert = await world.fake.wait_for_message(world.memes, timeout=10)
    assert alert["message_reference"]["message_id"] == repost["id"]
    return alert


async def test_alert_example(world: World, tmp_path: Path) -> None:
    async with seenit_running(world):
        alert = await alert_with_picture(world)
        assert list(buttons(alert)) == ALERT_BUTTONS
        assert [a["filename"] for a in alert["attachments"]] == ["comparison.webp"]
        assert alert["embeds"][0]["image"]["url"] == "attachment://comparison.webp"
        comparison = picture(world, alert, "comparison.webp")
        assert comparison.format == "WEBP" and comparison.width > 700
        assert "Original" in text_of(alert)
        draw(world, alert, "alert.png", tmp_path)


async def test_findsimilar_example(world: World, tmp_path: Path) -> None:
    async with seenit_running(world):
        original = await world.post(world.general, world.alice, CHELSEA)
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
        assert rec.ephemeral
        assert jump(world, world.general, original) in text_of(answer)
        assert [a["filename"] for a in answer["attachments"]] == ["comparison.webp"]
        picture(world, answer, "comparison.webp")
        draw(world, answer, "findsimilar.png", tmp_path)


async def test_why_example(world: World, tmp_path: Path) -> None:
    async with seenit_running(world):
        alert = await alert_with_picture(world)
        why_id = next(
            c["custom_id"]
            for row in alert["components"]
            for c in row["components"]
            if c["label"] == "Why?"
        )
        rec = await world.fake.press_button(
            world.guild, world.memes, world.carol, message=alert, custom_id=why_id
        )
        answer = await rec.wait_final(timeout=10)
        assert rec.ephemeral
        text = text_of(answer)
        assert "mirrored" in text and "of 256" in text
        draw(world, answer, "why.png", tmp_path)


async def test_stats_example(world: World, tmp_path: Path) -> None:
    async with seenit_running(world):
        await world.post(world.general, world.alice, CHELSEA)
        await world.post(world.general, world.alice, ROCKET)
        await world.settled(2)
        reposts = [
            (world.bob, variant("chelsea.jpg", "webp")),
            (world.carol, variant("chelsea.jpg", "half size")),
            (world.bob, variant("rocket.jpg", "jpeg q40")),
        ]
        for n, (who, file) in enumerate(reposts, 3):
            await world.post(world.memes, who, file)
            await world.settled(n)
        await world.fake.wait_until(
            lambda: len(world.fake.bot_messages_in(world.memes)) == 3, what="three alerts"
        )
        rec = await world.fake.slash_command(world.guild, world.general, world.mod, "repost stats")
        answer = await rec.wait_final(timeout=10)
        text = text_of(answer)
        assert "**5** images indexed" in text and "**3** reposts caught" in text
        assert f"<@{world.bob.user.id}>: 2" in text
        assert [a["filename"] for a in answer["attachments"]] == ["stats.webp"]
        assert picture(world, answer, "stats.webp").width == 720
        draw(world, answer, "stats.png", tmp_path)


async def test_scan_example(world: World, tmp_path: Path) -> None:
    # Posted before seenit joined: only a scan finds them.
    await world.post(world.general, world.alice, ROCKET)
    await world.post(world.general, world.bob, COFFEE)
    await world.post(world.general, world.carol, variant("rocket.jpg", "half size"))
    await world.post(world.general, world.alice, CHELSEA)
    await world.fake.post_message(world.general, world.bob, content="no image here")
    async with seenit_running(world):
        rec = await world.fake.slash_command(
            world.guild, world.memes, world.mod, "repost scan", {"channel": world.general}
        )
        await rec.wait_response()
        final = await world.fake.wait_for_message(
            world.memes, lambda m: m["content"].startswith("Scanned"), timeout=10
        )
        assert "5 messages read · 4 images indexed · 1 repost found" in final["content"]
        draw(world, final, "scan.png", tmp_path)


async def test_check_example(world: World, tmp_path: Path) -> None:
    fake = world.fake
    async with seenit_running(world):
        await admin(world, "repost alerts", {"delete_reposts": True})
        fake.set_overwrites(
            world.memes,
            [Overwrite.for_role(fake.bot_role(world.guild), deny=perms.SEND_MESSAGES)],
        )
        await fake.post_message(world.general, world.alice, "hello")
        await fake.wait_until(
            lambda: "arrives" in world.bot.get_cog("Admin").content_line(ENGLISH, world.guild.id),  # type: ignore[union-attr]
            what="a message with content",
        )
        rec = await fake.slash_command(world.guild, world.general, world.mod, "repost check")
        answer = await rec.wait_final(timeout=10)
        assert rec.ephemeral
        text = text_of(answer)
        assert "missing Manage Messages: reposts are not deleted" in text
        assert f"<#{world.memes.id}>: missing Send Messages, Embed Links" in text
        assert "Message content arrives" in text
        draw(world, answer, "check.png", tmp_path)


async def test_welcome_example(world: World, tmp_path: Path) -> None:
    fake = world.fake
    guild = fake.add_guild("Newcomers", joined=False)
    lobby = fake.add_text_channel(guild, "lobby")
    pics = fake.add_text_channel(guild, "pics")
    fake.set_system_channel(guild, lobby)
    dave = fake.add_member(guild, "dave")
    for file in (CHELSEA, ROCKET, COFFEE):
        await fake.post_message(pics, dave, attachments=[file])
    async with seenit_running(world):
        fake.join_guild(guild)
        welcome = await fake.wait_for_message(
            lobby, lambda m: m["content"].startswith("Indexed"), timeout=15
        )
        assert fake.bot_messages_in(lobby) == [welcome]
        assert "3 images indexed" in welcome["content"]
        assert "/repost check" in text_of(welcome)
        draw(world, welcome, "welcome.png", tmp_path)


async def test_help_example(world: World, tmp_path: Path) -> None:
    async with seenit_running(world):
        rec = await world.fake.slash_command(world.guild, world.general, world.alice, "help")
        answer = await rec.wait_final(timeout=10)
        assert rec.ephemeral
        text = text_of(answer)
        assert "`/findsimilar`" in text and "/repost" not in text
        draw(world, answer, "help.png", tmp_path)

"""The local stage end to end: cropped and captioned reposts, meme templates, scans."""

from __future__ import annotations

import pytest

from tests.botworld import World, admin, seenit_running

pytestmark = pytest.mark.usefixtures("no_logged_errors")


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

"""Who may see what seenit shows, and how often members may ask: end to end."""

from __future__ import annotations

import pytest

from tests.botworld import World, seenit_running, text_of
from tests.conftest import DATA

pytestmark = pytest.mark.usefixtures("no_logged_errors")

CHELSEA = ("chelsea.jpg", (DATA / "chelsea.jpg").read_bytes())
COFFEE = ("coffee.jpg", (DATA / "coffee.jpg").read_bytes())


async def test_findsimilar_and_the_menu_share_one_limit(world: World) -> None:
    async with seenit_running(world):
        post = await world.post(world.general, world.alice, COFFEE)
        await world.settled(1)
        answers = []
        for n in range(6):
            if n % 2:
                rec = await world.fake.context_menu(
                    world.guild, world.general, world.carol, "Find similar", target_message=post
                )
            else:
                rec = await world.fake.slash_command(
                    world.guild, world.general, world.carol, "findsimilar", {"image": CHELSEA}
                )
            answers.append(text_of(await rec.wait_final(timeout=10)))
        assert not any("Slow down" in a for a in answers)
        # Three of each: the seventh search, by either way, is one too many.
        rec = await world.fake.context_menu(
            world.guild, world.general, world.carol, "Find similar", target_message=post
        )
        assert "Slow down" in text_of(await rec.wait_final(timeout=10))
        rec = await world.fake.slash_command(
            world.guild, world.general, world.carol, "findsimilar", {"image": CHELSEA}
        )
        assert "Slow down" in text_of(await rec.wait_final(timeout=10))
        # Another member has their own budget.
        rec = await world.fake.slash_command(
            world.guild, world.general, world.bob, "findsimilar", {"image": CHELSEA}
        )
        assert "Slow down" not in text_of(await rec.wait_final(timeout=10))

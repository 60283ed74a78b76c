"""The admin experience end to end: /help, moderator roles, Integrations overrides."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from bot.i18n import ENGLISH
from tests.botworld import World, press, seenit_running, text_of
from tests.fakediscord import permissions as perms
from tests.support import CHELSEA, COFFEE, DATA, variant

pytestmark = pytest.mark.usefixtures("no_logged_errors")

DOCS = "https://docs.example/seenit"


async def run(world: World, who: Any, command: str, options: dict[str, Any] | None = None) -> str:
    """``who`` runs a command in #general; what they read (the answer must be private)."""
    rec = await world.fake.slash_command(world.guild, world.general, who, command, options)
    answer = await rec.wait_final(timeout=10)
    assert rec.ephemeral
    return text_of(answer)


async def test_help_shows_members_their_commands_and_admins_the_settings(world: World) -> None:
    async with seenit_running(world, docs_url=DOCS):
        member = await run(world, world.alice, "help")
        assert "reposts" in member and DOCS in member
        assert "`/findsimilar`" in member and "`/forgetme`" in member and "Find similar" in member
        assert "/repost" not in member
        assert "Watching every channel I can read · alerts: reply · sensitivity: normal" in member
        admin = await run(world, world.mod, "help")
        assert "`/repost watch`" in admin and "`/repost check`" in admin
        assert "`/repost moderators`" in admin and "`/findsimilar`" in admin
        await run(world, world.mod, "repost alerts", {"delete_reposts": True})
        assert "reposts deleted" in await run(world, world.alice, "help")


async def test_a_moderator_role_may_use_admin_commands_and_moderator_buttons(
    world: World,
) -> None:
    fake = world.fake
    helpers = fake.add_role(world.guild, "helpers")
    async with seenit_running(world):
        fake.set_member_roles(world.guild, world.carol, [helpers])
        refused = await run(world, world.carol, "repost sensitivity", {"level": "strict"})
        assert "Manage Server" in refused and "moderator roles" in refused
        said = await run(world, world.mod, "repost moderators", {"role": helpers})
        assert f"<@&{helpers.id}>" in said
        await run(world, world.carol, "repost sensitivity", {"level": "strict"})
        assert (await world.bot.service.settings(world.guild.id)).sensitivity == "strict"
        # Naming moderators and purging stay with Manage Server.
        refused = await run(world, world.carol, "repost moderators", {"role": helpers})
        assert "Manage Server" in refused
        assert "`/repost sensitivity`" in await run(world, world.carol, "help")
        # The moderator buttons under an alert.
        await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        await world.post(world.general, world.bob, variant("chelsea.jpg", "mirrored"))
        alert = await fake.wait_for_message(world.general)
        assert "Thanks" in await press(world, world.carol, alert, "Not a repost")
        assert len(await world.bot.service.store.not_reposts(world.guild.id)) == 1
        # Taking the role away (from the member, then from the list) takes the rights away.
        fake.set_member_roles(world.guild, world.carol, [])
        refused = await run(world, world.carol, "repost sensitivity", {"level": "loose"})
        assert "moderator roles" in refused
        fake.set_member_roles(world.guild, world.carol, [helpers])
        await run(world, world.mod, "repost moderators", {"role": helpers, "remove": True})
        refused = await run(world, world.carol, "repost sensitivity", {"level": "loose"})
        assert "moderator roles" in refused
        assert (await world.bot.service.settings(world.guild.id)).sensitivity == "strict"


async def test_integrations_overrides_let_a_member_use_repost(world: World) -> None:
    fake = world.fake
    async with seenit_running(world):
        refused = await run(world, world.alice, "repost sensitivity", {"level": "strict"})
        assert "Manage Server" in refused
        # Server Settings -> Integrations -> seenit -> /repost: alice allowed, but not in #memes.
        fake.set_command_permissions(
            world.guild,
            "repost",
            users=[(world.alice, True)],
            channels=[(world.memes, False)],
        )
        await run(world, world.alice, "repost sensitivity", {"level": "strict"})
        assert (await world.bot.service.settings(world.guild.id)).sensitivity == "strict"
        rec = await fake.slash_command(
            world.guild, world.memes, world.alice, "repost sensitivity", {"level": "loose"}
        )
        assert "Manage Server" in text_of(await rec.wait_final(timeout=10))
        assert (await world.bot.service.settings(world.guild.id)).sensitivity == "strict"
        # An override for everyone on the whole bot, then taken back on /repost for bob.
        fake.set_command_permissions(world.guild, None, roles=[(world.guild, True)])
        fake.set_command_permissions(world.guild, "repost", users=[(world.bob, False)])
        refused = await run(world, world.bob, "repost sensitivity", {"level": "loose"})
        assert "Manage Server" in refused
        await run(world, world.carol, "repost sensitivity", {"level": "loose"})
        assert (await world.bot.service.settings(world.guild.id)).sensitivity == "loose"


async def test_members_role_changes_reach_the_permission_checks(world: World) -> None:
    fake = world.fake
    async with seenit_running(world):
        staff = fake.add_role(world.guild, "staff", perms.MANAGE_GUILD)
        refused = await run(world, world.bob, "repost mode", {"mode": "listed"})
        assert "Manage Server" in refused
        fake.set_member_roles(world.guild, world.bob, [staff])
        await run(world, world.bob, "repost mode", {"mode": "listed"})
        assert (await world.bot.service.settings(world.guild.id)).watch_mode == "listed"


async def test_check_names_missing_permissions_and_what_they_break(world: World) -> None:
    fake = world.fake
    bot_role = fake.bot_role(world.guild)
    async with seenit_running(world):
        text = await run(world, world.mod, "repost check")
        assert "3 watched channels have every permission" in text
        assert "Everything works" in text
        assert "untested" in text  # nothing posted since start-up
        await fake.post_message(world.general, world.alice, "hello")
        await fake.wait_until(
            lambda: "Message content arrives" in text_of_check(world), what="content seen"
        )
        # A channel where seenit may not speak, and one it cannot see at all.
        fake.set_overwrites(
            world.memes, [perms.Overwrite.for_role(bot_role, deny=perms.SEND_MESSAGES)]
        )
        secret = fake.add_text_channel(
            world.guild,
            "secret",
            overwrites=[perms.Overwrite.for_role(world.guild.id, deny=perms.VIEW_CHANNEL)],
        )
        text = await run(world, world.mod, "repost check")
        assert (
            f"<#{world.memes.id}>: missing Send Messages, Embed Links:"
            " reply alerts cannot be posted" in text
        )
        assert "2 watched channels have every permission" in text
        assert f"1 channel is not watched because I cannot see it: <#{secret.id}>" in text
        assert "Everything works" not in text
        # Listed mode: a listed channel seenit cannot see is a problem, not a footnote.
        await run(world, world.mod, "repost mode", {"mode": "listed"})
        saved = await run(world, world.mod, "repost watch", {"channel": secret})
        assert "This will not work yet" in saved
        assert f"<#{secret.id}>: missing View Channel: nothing posted there is checked" in saved


def text_of_check(world: World) -> str:
    """What /repost check says right now (read through the bot, without an interaction)."""
    cog = world.bot.get_cog("Admin")
    return cog.content_line(ENGLISH, world.guild.id)  # type: ignore[union-attr]


async def test_saving_a_setting_that_cannot_work_warns_at_once(world: World) -> None:
    fake = world.fake
    async with seenit_running(world):
        saved = await run(world, world.mod, "repost alerts", {"delete_reposts": True})
        assert "This will not work yet" in saved
        assert "missing Manage Messages: reposts are not deleted" in saved
        assert (await world.bot.service.settings(world.guild.id)).delete_reposts
        # Granting the permission makes the next save quiet.
        fake.set_role_permissions(
            fake.bot_role(world.guild), perms.DEFAULT_BOT_PERMISSIONS | perms.MANAGE_MESSAGES
        )
        saved = await run(world, world.mod, "repost alerts", {"mention_author": True})
        assert "This will not work yet" not in saved
        # A log channel seenit can read but not write to.
        fake.set_overwrites(
            world.staff,
            [
                perms.Overwrite.for_role(world.guild.id, deny=perms.VIEW_CHANNEL),
                perms.Overwrite.for_role(
                    fake.bot_role(world.guild), allow=perms.VIEW_CHANNEL, deny=perms.SEND_MESSAGES
                ),
            ],
        )
        saved = await run(
            world, world.mod, "repost alerts", {"style": "log", "log_channel": world.staff}
        )
        assert f"log channel <#{world.staff.id}>: missing Send Messages" in saved
        assert "log alerts cannot be posted" in saved
        text = await run(world, world.mod, "repost check")
        assert f"log channel <#{world.staff.id}>: missing Send Messages" in text


async def test_near_copies_are_deleted_and_looser_matches_only_alerted(world: World) -> None:
    fake = world.fake
    fake.set_role_permissions(
        fake.bot_role(world.guild), perms.DEFAULT_BOT_PERMISSIONS | perms.MANAGE_MESSAGES
    )
    async with seenit_running(world):
        saved = await run(
            world, world.mod, "repost alerts", {"delete_reposts": True, "delete_threshold": 4}
        )
        assert "within distance 4 of 256" in saved and "This will not work yet" not in saved
        await world.post(world.general, world.alice, CHELSEA)
        await world.settled(1)
        # A re-encoded copy (distance 0): deleted, after its alert.
        copy = await world.post(world.general, world.bob, variant("chelsea.jpg", "webp"))
        await fake.wait_until(
            lambda: fake.get_message(copy) is None, timeout=10, what="the copy deleted"
        )
        # A watermarked one (distance 6): a repost, alerted, but kept.
        marked = await world.post(world.general, world.carol, variant("chelsea.jpg", "watermark"))
        alert = await fake.wait_for_message(
            world.general,
            lambda m: (m.get("message_reference") or {}).get("message_id") == marked["id"],
            timeout=10,
        )
        assert "Original" in text_of(alert)
        # The message is fully handled: its alert recorded and deletion decided.
        await world.idle()
        assert await world.bot.service.store.alerts_for_message(int(marked["id"]))
        assert fake.get_message(marked) is not None
        assert not fake.requests_matching("DELETE", f"/channels/*/messages/{marked['id']}")


def test_by_default_only_what_the_strict_level_matches_is_deleted() -> None:
    from bot.guild_settings import GuildSettings
    from bot.matching import PRESETS, delete_limit

    assert delete_limit(GuildSettings(delete_reposts=True)) == PRESETS["strict"].max256
    assert delete_limit(GuildSettings(sensitivity="loose")) == PRESETS["strict"].max256
    assert delete_limit(GuildSettings(delete_threshold=9)) == 9


async def test_toggles_change_one_thing_at_a_time(world: World) -> None:
    async with seenit_running(world):
        await run(world, world.mod, "repost alerts", {"style": "reaction"})
        await run(world, world.mod, "repost alerts", {"pictures": True})
        await run(world, world.mod, "repost scope", {"max_age_days": 30})
        await run(world, world.mod, "repost scope", {"ignore_own_posts": False})
        s = await world.bot.service.settings(world.guild.id)
        assert (s.alert_style, s.alert_pictures) == ("reaction", True)
        assert (s.scope, s.max_age_days, s.ignore_own_posts) == ("guild", 30, False)


async def test_ignore_bots_has_a_command(world: World) -> None:
    robot = world.fake.add_member(world.guild, "robot", bot=True)
    async with seenit_running(world):
        await world.post(world.general, robot, CHELSEA)
        await world.post(
            world.general, world.alice, ("rocket.jpg", (DATA / "rocket.jpg").read_bytes())
        )
        await world.settled(1)
        saved = await run(world, world.mod, "repost ignore_bots", {"ignore": False})
        assert "Other bots' images: indexed" in saved
        await world.post(world.general, robot, variant("chelsea.jpg", "half size"))
        await world.settled(2)
        await run(world, world.mod, "repost ignore_bots", {"ignore": True})
        ignored = await world.post(world.general, robot, variant("chelsea.jpg", "grayscale"))
        # A member posts after it: once that is stored and the bot idle, the robot's post
        # (delivered first) has been handled too.
        await world.post(world.general, world.alice, COFFEE)
        await world.settled(3)
        await world.idle()
        store = world.bot.service.store
        assert await store.images_in_message(world.guild.id, int(ignored["id"])) == []
        assert await store.count_images(world.guild.id) == 3


async def test_help_and_check_answer_in_the_members_language(world: World) -> None:
    async with seenit_running(world):
        rec = await world.fake.slash_command(
            world.guild, world.general, world.mod, "help", locale="de"
        )
        text = text_of(await rec.wait_final(timeout=10))
        assert "Befehle, die du benutzen kannst" in text
        assert "`/ähnliche-suchen`" in text and "`/repost überwachen`" in text
        rec = await world.fake.slash_command(
            world.guild, world.general, world.mod, "repost check", locale="fr"
        )
        assert "Autodiagnostic" in text_of(await rec.wait_final(timeout=10))


async def test_check_says_when_message_content_does_not_arrive(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.client

    usual = bot.client.intents

    def without_content() -> discord.Intents:
        wanted = usual()
        wanted.message_content = False
        return wanted

    # A deployment that does not ask for message content: Discord sends messages empty.
    monkeypatch.setattr(bot.client, "intents", without_content)
    async with seenit_running(world):
        await world.fake.post_message(world.general, world.alice, attachments=[CHELSEA])
        text = await run(world, world.mod, "repost check")
        assert "I do not ask Discord for message content" in text
        assert await world.bot.service.store.count_images(world.guild.id) == 0

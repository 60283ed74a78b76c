"""Who may see what seenit shows, and how often members may ask: end to end."""

from __future__ import annotations

import asyncio

import pytest

from tests.botworld import World, jump, seenit_running, text_of
from tests.fakediscord import Channel, Member, Overwrite, Role
from tests.fakediscord import permissions as perms
from tests.support import CHELSEA, COFFEE, DATA, ROCKET, VARIANTS, photo

pytestmark = pytest.mark.usefixtures("no_logged_errors")


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


def owner(world: World) -> Member:
    return world.guild.members[world.guild.owner_id]


def chelsea(edit: str) -> tuple[str, bytes]:
    return (f"{edit.replace(' ', '_')}.jpg", VARIANTS[edit](photo("chelsea.jpg")))


async def test_a_public_alert_never_links_a_channel_some_of_its_readers_cannot_open(
    world: World,
) -> None:
    async with seenit_running(world):
        hidden = await world.post(world.staff, owner(world), CHELSEA)
        await world.settled(1)
        # The moderator can read #staff, but everyone reading #general sees the alert.
        await world.post(world.general, world.mod, chelsea("mirrored"))
        alert = text_of(await world.fake.wait_for_message(world.general, timeout=10))
        assert "not everyone here can see" in alert
        assert jump(world, world.staff, hidden) not in alert
        assert f"<#{world.staff.id}>" not in alert
        assert f"<@{world.mod.user.id}>" not in alert
        assert "<t:" not in alert
        # In #staff, whose readers all read #general, an alert links a #general post.
        public = await world.post(world.general, world.alice, COFFEE)
        await world.settled(3)
        await world.post(world.staff, world.mod, ("c.webp", VARIANTS["webp"](photo("coffee.jpg"))))
        alert = text_of(await world.fake.wait_for_message(world.staff, timeout=10))
        assert jump(world, world.general, public) in alert


async def test_a_public_answer_shows_only_what_the_whole_channel_may_open(world: World) -> None:
    async with seenit_running(world):
        hidden = await world.post(world.staff, world.mod, CHELSEA)
        shown = await world.post(world.memes, world.alice, chelsea("grayscale"))
        await world.settled(2)
        query = {"image": chelsea("half size")}
        rec = await world.fake.slash_command(
            world.guild, world.general, world.mod, "findsimilar", {**query, "public": True}
        )
        answer = text_of(await rec.wait_final(timeout=10))
        assert not rec.ephemeral
        assert jump(world, world.memes, shown) in answer
        assert jump(world, world.staff, hidden) not in answer
        # Asked privately, the moderator's own permissions count.
        rec = await world.fake.slash_command(
            world.guild, world.general, world.mod, "findsimilar", query
        )
        assert jump(world, world.staff, hidden) in text_of(await rec.wait_final(timeout=10))


async def test_a_log_channel_report_follows_the_log_channels_readers(world: World) -> None:
    async with seenit_running(world):
        rec = await world.fake.slash_command(
            world.guild,
            world.general,
            world.mod,
            "repost alerts",
            {"style": "log", "log_channel": world.memes},
        )
        await rec.wait_response()
        hidden = await world.post(world.staff, owner(world), CHELSEA)
        await world.settled(1)
        repost = await world.post(world.staff, world.mod, chelsea("jpeg q40"))
        report = text_of(await world.fake.wait_for_message(world.memes, timeout=10))
        assert "not everyone here can see" in report
        assert jump(world, world.staff, hidden) not in report
        assert jump(world, world.staff, repost) not in report
        assert f"<#{world.staff.id}>" not in report


@pytest.fixture
def thread_mods(world: World) -> Role:
    return world.fake.add_role(world.guild, "thread mods", perms.MANAGE_THREADS)


async def test_private_thread_posts_are_shown_only_to_thread_moderators_or_inside(
    world: World, thread_mods: Role
) -> None:
    dave = world.fake.add_member(world.guild, "dave", roles=[thread_mods])
    secret = world.fake.add_thread(
        world.general,
        "secret",
        owner=world.alice,
        private=True,
        members=[world.carol, world.fake.bot_user],
    )
    async with seenit_running(world):
        inside = await world.post(secret, world.alice, CHELSEA)
        public = await world.post(world.general, world.alice, COFFEE)
        await world.settled(2)
        link = jump(world, secret, inside)
        query = {"image": chelsea("half size")}

        async def answer(channel: Channel, member: Member, **extra: object) -> str:
            rec = await world.fake.slash_command(
                world.guild, channel, member, "findsimilar", {**query, **extra}
            )
            return text_of(await rec.wait_final(timeout=10))

        # bob is not in the thread; Thread.permissions_for would say he can read it.
        assert link not in await answer(world.general, world.bob)
        assert link not in await answer(world.general, world.mod)  # Manage Messages is not enough
        assert link in await answer(world.general, dave)
        assert link in await answer(secret, world.carol)
        assert link in await answer(secret, world.carol, public=True)
        assert link not in await answer(world.general, dave, public=True)

        # The menu, on a post of the same picture in #general.
        again = await world.post(world.general, world.bob, chelsea("webp"))
        await world.settled(3)
        rec = await world.fake.context_menu(
            world.guild, world.general, world.bob, "Find similar", target_message=again
        )
        assert link not in text_of(await rec.wait_final(timeout=10))
        rec = await world.fake.context_menu(
            world.guild, world.general, dave, "Find similar", target_message=again
        )
        assert link in text_of(await rec.wait_final(timeout=10))

        # Alerts: bob's repost in #general is not told about the thread; carol's inside is.
        assert not [m for m in world.fake.bot_messages_in(world.general) if link in text_of(m)]
        await world.post(secret, world.carol, chelsea("grayscale"))
        alert = text_of(await world.fake.wait_for_message(secret, timeout=10))
        assert link in alert
        assert jump(world, world.general, public) not in alert


async def test_the_bot_reads_a_private_thread_only_once_it_is_added(world: World) -> None:
    secret = world.fake.add_thread(world.general, "secret", owner=world.alice, private=True)

    def delivered(message: dict[str, object]) -> bool:
        return any(
            event["t"] == "MESSAGE_CREATE" and event["d"]["id"] == message["id"]
            for session in world.fake.gateway.sessions.values()
            for event in session.log
        )

    async with seenit_running(world):
        before = await world.post(secret, world.alice, CHELSEA)
        await world.post(world.general, world.alice, COFFEE)
        await world.settled(1)
        assert not delivered(before)
        world.fake.add_thread_member(secret, world.fake.bot_user)
        await world.post(secret, world.alice, ROCKET)
        await world.settled(2)
        world.fake.remove_thread_member(secret, world.fake.bot_user)
        after = await world.post(
            secret, world.alice, ("a.jpg", (DATA / "astronaut.jpg").read_bytes())
        )
        await world.post(world.general, world.bob, chelsea("webp"))
        await world.settled(3)
        assert not delivered(after)


async def stored_messages(world: World, channel: Channel) -> list[int]:
    return await world.bot.service.store.messages_in_channel(channel.id, before=(1 << 63) - 1)


async def wait_for_stored(world: World, channel: Channel, expected: list[int]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while (have := await stored_messages(world, channel)) != expected:
        if loop.time() > deadline:
            raise TimeoutError(f"stored messages of the channel: {have}, expected {expected}")
        await asyncio.sleep(0.02)


async def test_posts_deleted_while_seenit_was_down_are_never_shown(world: World) -> None:
    async with seenit_running(world):
        gone = await world.post(world.memes, world.alice, CHELSEA)
        await world.settled(1)
        kept = await world.post(world.general, world.carol, chelsea("grayscale"))
        await world.fake.wait_for_message(world.general, after=kept, timeout=10)
        # Nothing is checked while no deletion can have been missed.
        assert world.fake.requests_matching("GET", "/channels/*/messages/*") == []
    await world.fake.delete_message(world.memes, gone)  # seenit is not connected: no event
    async with seenit_running(world):
        repost = await world.post(world.general, world.bob, chelsea("mirrored"))
        alert = text_of(await world.fake.wait_for_message(world.general, after=repost, timeout=10))
        assert jump(world, world.memes, gone) not in alert
        assert f"<@{world.alice.user.id}>" not in alert
        (original,) = [line for line in alert.splitlines() if "Original" in line]
        assert jump(world, world.general, kept) in original
        await wait_for_stored(world, world.memes, [])  # forgotten
        again = await world.post(world.general, world.alice, chelsea("jpeg q40"))
        alert = text_of(await world.fake.wait_for_message(world.general, after=again, timeout=10))
        assert jump(world, world.general, kept) in alert
        # Each earlier post is checked once per gap, not at every alert.
        checks = world.fake.requests_matching("GET", f"/channels/{world.general.id}/messages/*")
        assert [r.path.rsplit("/", 1)[1] for r in checks] == [kept["id"]]
        rec = await world.fake.slash_command(
            world.guild, world.general, world.bob, "findsimilar", {"image": chelsea("webp")}
        )
        answer = text_of(await rec.wait_final(timeout=10))
        assert jump(world, world.memes, gone) not in answer
        assert jump(world, world.general, kept) in answer


async def test_a_channel_seenit_can_read_again_is_reconciled(world: World) -> None:
    async with seenit_running(world):
        gone = await world.post(world.memes, world.alice, CHELSEA)
        kept = await world.post(world.memes, world.carol, COFFEE)
        await world.settled(2)
        bot_role = world.fake.bot_role(world.guild)
        world.fake.set_overwrites(
            world.memes, [Overwrite.for_role(bot_role, deny=perms.VIEW_CHANNEL)]
        )
        # Out of sight: seenit hears of neither the deletion nor the new post.
        await world.fake.delete_message(world.memes, gone)
        missed = await world.post(world.memes, world.bob, ROCKET)
        rec = await world.fake.slash_command(
            world.guild, world.general, world.bob, "findsimilar", {"image": chelsea("webp")}
        )
        assert jump(world, world.memes, gone) not in text_of(await rec.wait_final(timeout=10))
        world.fake.set_overwrites(world.memes, [])
        await wait_for_stored(world, world.memes, [int(missed["id"]), int(kept["id"])])


async def test_a_private_thread_seenit_is_added_back_to_is_reconciled(world: World) -> None:
    secret = world.fake.add_thread(
        world.general, "secret", owner=world.alice, private=True, members=[world.fake.bot_user]
    )
    async with seenit_running(world):
        gone = await world.post(secret, world.alice, CHELSEA)
        kept = await world.post(secret, world.alice, COFFEE)
        await world.settled(2)
        world.fake.remove_thread_member(secret, world.fake.bot_user)
        await world.fake.delete_message(secret, gone)  # seenit is no longer told
        world.fake.add_thread_member(secret, world.fake.bot_user)
        await wait_for_stored(world, secret, [int(kept["id"])])


async def test_the_note_about_a_deleted_repost_keeps_a_hidden_original_hidden(
    world: World,
) -> None:
    bot_role = world.fake.bot_role(world.guild)
    world.fake.set_role_permissions(bot_role, bot_role.permissions | perms.MANAGE_MESSAGES)
    async with seenit_running(world):
        rec = await world.fake.slash_command(
            world.guild, world.general, world.mod, "repost alerts", {"delete_reposts": True}
        )
        await rec.wait_final(timeout=10)
        hidden = await world.post(world.staff, owner(world), CHELSEA)
        await world.settled(1)
        # The moderator's direct messages are closed: the note goes to the channel.
        repost = await world.post(world.general, world.mod, CHELSEA)
        note = await world.fake.wait_for_message(
            world.general, lambda m: "removed" in m["content"], after=repost, timeout=10
        )
        assert jump(world, world.staff, hidden) not in note["content"]
        assert "not everyone here can see" in note["content"]


async def test_a_404_that_is_not_unknown_message_forgets_nothing(world: World) -> None:
    async with seenit_running(world):
        earlier = await world.post(world.memes, world.alice, CHELSEA)
        await world.settled(1)
    async with seenit_running(world):
        # A proxy's or an unknown route's 404 says nothing about the message.
        fault = world.fake.inject_fault("GET", f"/channels/{world.memes.id}/messages/*", status=404)
        await world.post(world.general, world.bob, chelsea("mirrored"))
        await world.settled(2)
        await world.fake.wait_until(lambda: fault.hits, what="the check")
        assert await stored_messages(world, world.memes) == [int(earlier["id"])]
        # Checked again at the next repost, it is there and shown.
        again = await world.post(world.general, world.carol, chelsea("webp"))
        alert = text_of(await world.fake.wait_for_message(world.general, after=again, timeout=10))
        assert jump(world, world.memes, earlier) in alert
        # The repost checked during the 404 got no alert: nothing could be shown.
        replied = [
            m["message_reference"]["message_id"] for m in world.fake.bot_messages_in(world.general)
        ]
        assert replied == [again["id"]]


async def test_stats_list_only_images_the_moderator_may_open(world: World) -> None:
    helpers = world.fake.add_role(world.guild, "helpers")
    async with seenit_running(world):
        world.fake.set_member_roles(world.guild, world.carol, [helpers])
        rec = await world.fake.slash_command(
            world.guild, world.general, world.mod, "repost moderators", {"role": helpers}
        )
        await rec.wait_final(timeout=10)
        hidden = await world.post(world.staff, owner(world), CHELSEA)
        await world.settled(1)
        repost = await world.post(world.staff, world.mod, chelsea("webp"))
        await world.fake.wait_for_message(world.staff, after=repost, timeout=10)
        link = jump(world, world.staff, hidden)

        async def stats(member: Member) -> str:
            rec = await world.fake.slash_command(world.guild, world.general, member, "repost stats")
            return text_of(await rec.wait_final(timeout=15))

        await world.idle()  # the alert is sent before the repost is recorded
        assert link in await stats(world.mod)
        assert link not in await stats(world.carol)  # a moderator role, but no #staff

"""Cost of the public-visibility rule (bot/audience.py) on a server with many roles.

Every repost alert asks, for each channel its earlier posts are in, whether every reader of
the alert's channel can read that channel. The baseline resolves every combination of the
overwritten roles one by one (what the rule must agree with), so it only runs while that
stays small.

    python -m bench.audience [--calls 200]
"""

from __future__ import annotations

import argparse
import random
from itertools import combinations

from bench.common import fmt_ms, fmt_ratio, machine_line, md_table, median, time_call, write_results
from bot.audience import (
    ADMINISTRATOR,
    MANAGE_THREADS,
    READ_MESSAGE_HISTORY,
    VIEW_CHANNEL,
    Overwrite,
    Place,
    Server,
    everyone_here_can_read,
)

GUILD = 1
ROLES = 250
READ = VIEW_CHANNEL | READ_MESSAGE_HISTORY
BASES = [READ, READ | MANAGE_THREADS, 0, 0]
BITS = [0, VIEW_CHANNEL, READ_MESSAGE_HISTORY, READ]


def world(overwritten: int, seed: int, *, same: bool = False) -> tuple[Server, Place, Place]:
    rng = random.Random(seed)
    roles = {GUILD: READ} | {100 + n: rng.choice(BASES) for n in range(ROLES)}
    roles[100] = ADMINISTRATOR

    def place(channel_id: int) -> Place:
        overwrites = [Overwrite(GUILD, member=False, allow=0, deny=VIEW_CHANNEL)]
        for role_id in rng.sample(range(101, 100 + ROLES), overwritten):
            allow = rng.choice(BITS)
            overwrites.append(Overwrite(role_id, False, allow, rng.choice(BITS) & ~allow))
        for member_id in range(3):
            overwrites.append(Overwrite(10_000 + member_id, True, VIEW_CHANNEL, 0))
        return Place(channel_id, tuple(overwrites))

    here = place(2)
    there = Place(3, here.overwrites) if same else place(3)
    return Server(GUILD, roles), here, there


def one_by_one(server: Server, here: Place, there: Place) -> bool:
    """Every combination of overwritten roles (plus each role's own base) resolved in turn."""

    def resolve(roles: tuple[int, ...], place: Place, member: int) -> int:
        base = server.role_permissions[GUILD]
        for r in roles:
            base |= server.role_permissions[r]
        if base & ADMINISTRATOR:
            return READ
        everyone = [o for o in place.overwrites if not o.member and o.target_id == GUILD]
        mine = [o for o in place.overwrites if not o.member and o.target_id in roles]
        own = [o for o in place.overwrites if o.member and o.target_id == member]
        perms = base
        for group in (everyone, mine, own):
            allow = deny = 0
            for o in group:
                allow, deny = allow | o.allow, deny | o.deny
            perms = (perms & ~deny) | allow
        return perms if perms & VIEW_CHANNEL else 0

    overwritten = sorted(
        {o.target_id for p in (here, there) for o in p.overwrites if not o.member} - {GUILD}
    )
    plain = sorted({v for r, v in server.role_permissions.items() if r not in overwritten})
    extra = [r for r, v in server.role_permissions.items() if r not in overwritten]
    by_base = {server.role_permissions[r]: r for r in extra if r != GUILD}
    others = overwritten + [by_base[v] for v in plain if v in by_base]
    members = [0, *(o.target_id for p in (here, there) for o in p.overwrites if o.member)]
    for size in range(len(others) + 1):
        for roles in combinations(others, size):
            for member in members:
                if resolve(roles, here, member) & VIEW_CHANNEL and (
                    resolve(roles, there, member) & READ != READ
                ):
                    return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    machine = machine_line()
    rows = []
    data: dict[str, object] = {}
    for same in (False, True):
        for overwritten in (0, 3, 6, 10, 20):
            samples: list[float] = []
            baseline: list[float] = []
            answers = set()
            for seed in range(args.calls):
                server, here, there = world(overwritten, seed, same=same)

                def rule(s: Server = server, h: Place = here, t: Place = there) -> bool:
                    return everyone_here_can_read(s, h, t)

                def slow(s: Server = server, h: Place = here, t: Place = there) -> bool:
                    return one_by_one(s, h, t)

                answers.add(rule())
                samples.append(time_call(rule)[1])
                if overwritten <= 6 and seed < 20:
                    assert slow() == rule(), seed
                    baseline.append(time_call(slow)[1])
            seenit = median(samples)
            slower = fmt_ratio(median(baseline) / seenit) if baseline else "-"
            rows.append(
                [
                    "same" if same else "different",
                    str(overwritten),
                    fmt_ms(seenit),
                    fmt_ms(max(samples)),
                    fmt_ms(median(baseline)) if baseline else "not run",
                    slower,
                    "/".join(sorted(str(a) for a in answers)),
                ]
            )
            data[f"{'same' if same else 'different'}-{overwritten}"] = {
                "seenit_cpu_s": samples,
                "one_by_one_cpu_s": baseline,
            }
    text = "\n".join(
        [
            "# The public-visibility rule (`python -m bench.audience`)",
            "",
            machine,
            "",
            (
                f"A server of {ROLES} roles (one administrator), two channels hidden from "
                "@everyone, each with 3 member overwrites and N role overwrites of random "
                f"View Channel / Read Message History allows and denies; {args.calls} random "
                "servers per N, CPU ms per `everyone_here_can_read`. *one by one*: every "
                "combination of the overwritten roles and of the distinct base permissions, "
                "resolved in turn (20 servers, N up to 6; the answers agree). *same*: both "
                "channels carry the same overwrites."
            ),
            "",
            md_table(
                [
                    "overwrites of the two channels",
                    "role overwrites per channel",
                    "seenit median ms",
                    "seenit max ms",
                    "one by one ms",
                    "one by one / seenit",
                    "answers seen",
                ],
                rows,
            ),
            "",
        ]
    )
    write_results("audience", text, data)


if __name__ == "__main__":
    main()

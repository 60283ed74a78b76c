"""``seenit``: the bot's fingerprint and decision rule on local files.

seenit hash FILE...             fingerprint and quality of each image
seenit compare SOURCE FILE...   distance to SOURCE and whether seenit calls it a repost
seenit dupes DIR                groups of near-duplicates in a folder tree
seenit forget-user USER_ID      delete what the bot keeps about a user, in every server

Videos (.mp4 .mov .webm .mkv) and animations (.gif .webp .apng) are read as clips: a clip,
its trimmed, re-encoded, resized and GIF copies and its still frames match each other.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TextIO

from bot.clips import (
    EDIT_WORDS,
    ClipFingerprint,
    clip_query_hashes,
    index_hashes,
    judge_fingerprints,
)
from bot.config import Config, ConfigError
from bot.hashing import Fingerprint, ImageError
from bot.index import HammingIndex
from bot.local import LocalIndex
from bot.matching import (
    LOCAL_CANDIDATES,
    PRESETS,
    Thresholds,
    Verdict,
    judge_pair,
    query_hashes,
)
from bot.records import MemberForgotten
from bot.store import StoreError, open_store
from bot.video import fingerprint_media

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jfif", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".apng"}
)
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv"})


@dataclass(frozen=True, slots=True)
class Hashed:
    path: str
    fingerprint: Fingerprint | None
    error: str | None


def hash_file(path: str) -> Hashed:
    """Fingerprint one file; errors are returned, not raised (this runs in workers)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return Hashed(path, None, exc.strerror or str(exc))
    try:
        return Hashed(path, fingerprint_media(data), None)
    except ImageError as exc:
        return Hashed(path, None, exc.reason)


def hash_files(paths: Sequence[str], *, workers: int, progress: TextIO | None) -> list[Hashed]:
    """Fingerprint files in parallel, in input order, with an optional progress bar."""
    if workers <= 1 or len(paths) < 8:
        results = []
        for done, path in enumerate(paths, 1):
            results.append(hash_file(path))
            _progress(progress, done, len(paths))
        return results
    results = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done, result in enumerate(pool.map(hash_file, paths, chunksize=8), 1):
            results.append(result)
            _progress(progress, done, len(paths))
    return results


def _progress(stream: TextIO | None, done: int, total: int) -> None:
    if stream is None or (done != total and done % 10):
        return
    width = 30
    filled = width * done // max(total, 1)
    stream.write(f"\rhashing [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        stream.write("\n")
    stream.flush()


def _report_errors(results: Iterable[Hashed]) -> None:
    for r in results:
        if r.error is not None:
            print(f"{r.path}: skipped: {r.error}", file=sys.stderr)


def walk_images(root: str) -> list[str]:
    """Image, video and animation files under ``root`` (by extension), sorted, joined on it."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if Path(name).suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                found.append(os.path.join(dirpath, name))
    return found


def cmd_hash(args: argparse.Namespace) -> int:
    results = hash_files(args.files, workers=args.workers, progress=None)
    _report_errors(results)
    ok = [r for r in results if r.fingerprint is not None]
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "path": r.path,
                        "phash64": r.fingerprint.hex64,
                        "phash256": r.fingerprint.hex256,
                        "quality": r.fingerprint.quality,
                        "width": r.fingerprint.width,
                        "height": r.fingerprint.height,
                        **_clip_fields(r.fingerprint),
                    }
                    for r in ok
                    if r.fingerprint is not None
                ],
                indent=2,
            )
        )
    else:
        for r in ok:
            fp = r.fingerprint
            assert fp is not None
            extra = ""
            if isinstance(fp, ClipFingerprint):
                kind = "video" if fp.kind == "video" else "animation"
                extra = (
                    f" {kind}={fp.container} duration={fp.duration_ms / 1000:.1f}s"
                    f" frames={len(fp.frames)}"
                )
            print(
                f"{r.path}: phash64={fp.hex64} phash256={fp.hex256}"
                f" quality={fp.quality} size={fp.width}x{fp.height}{extra}"
            )
    return 0 if len(ok) == len(results) else 1


def _clip_fields(fp: Fingerprint) -> dict[str, object]:
    """JSON fields of a clip: its kind, container, duration and sampled frames."""
    if not isinstance(fp, ClipFingerprint):
        return {}
    return {
        "kind": fp.kind,
        "container": fp.container,
        "duration_ms": fp.duration_ms,
        "frames": [
            {"t_ms": f.t_ms, "phash64": f"{f.phash64:016x}", "quality": f.quality}
            for f in fp.frames
        ],
    }


def cmd_compare(args: argparse.Namespace) -> int:
    rule = PRESETS[args.sensitivity]
    source = hash_file(args.source)
    if source.fingerprint is None:
        print(f"{args.source}: cannot compare: {source.error}", file=sys.stderr)
        return 2
    results = hash_files(args.files, workers=args.workers, progress=None)
    _report_errors(results)
    rows = []
    for r in results:
        if r.fingerprint is None:
            continue
        v = decide_pair(r.fingerprint, source.fingerprint, rule)
        rows.append(
            {
                "path": r.path,
                "distance": v.distance,
                "distance64": v.distance64,
                "similarity": v.similarity,
                "orientation": v.orientation_name,
                "repost": v.repost,
                "reason": v.reason or None,
                "clip": bool(v.edit),
                "edit": edit_of(v) or None,
                "stage": "local" if v.local is not None else "global",
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            if row["repost"] and row["edit"] and row["clip"]:
                verdict = f"repost: {row['path']} is {row['edit']} {args.source}"
            elif row["repost"]:
                verdict = "repost" + (f" ({row['edit']})" if row["edit"] else "")
            elif row["reason"] == "template":
                verdict = "not a repost (same picture, another caption: a meme template)"
            else:
                verdict = f"not a repost ({row['reason']})"
            turned = "" if row["orientation"] == "identity" else f", {row['orientation']}"
            measure = "aligned parts" if row["stage"] == "local" else ""
            between = f"{args.source} and {row['path']}"
            print(
                f"Hamming distance between {between}{' (' + measure + ')' if measure else ''}"
                f" is {row['distance']} of 256 ({row['similarity']}% similar{turned}): {verdict}"
            )
    return 0


def decide_pair(query: Fingerprint, stored: Fingerprint, rule: Thresholds) -> Verdict:
    """What the bot decides when ``stored`` was posted first and ``query`` after it."""
    if isinstance(query, ClipFingerprint) or isinstance(stored, ClipFingerprint):
        return judge_fingerprints(query, stored, rule)
    return judge_pair(query, stored, rule)


def edit_of(verdict: Verdict) -> str:
    """How the later file was made from the earlier, in words ("" for nothing notable)."""
    if verdict.edit:  # a clip
        return EDIT_WORDS.get(verdict.edit, verdict.edit)
    if verdict.template:
        return "same picture, another caption"
    return verdict.edit_text


class Pair(NamedTuple):
    """Two files seenit calls reposts of each other (``a`` < ``b``, positions in the list)."""

    a: int
    b: int
    #: 256-bit distance (of the aligned parts, when the local stage decided).
    distance: int
    #: How ``b`` differs from ``a`` in a few words ("" for nothing notable); how ``a``
    #: differs from ``b`` when only that way is a repost.
    edit: str


#: A group of files linked by pairs, of at most this many files, has every pair inside it
#: judged. A picture with many copies fills each copy's candidate lists with other copies,
#: so an edit may be judged against its siblings and never against the file it came from.
GROUP_CLOSURE_MAX = 128


def find_pairs(
    hashed: Sequence[Hashed], rule: Thresholds, *, templates: bool = False, workers: int = 1
) -> list[Pair]:
    """Every pair the bot would alert on, whichever of the two was posted first.

    Each pair is judged with the later file (in sort order) as the query and, when that is
    no repost, the other way too, with both stages: the global hashes (with the views of
    the query: caption removed, inner picture) and the local features. The candidates of a
    file are what the bot would verify: the Hamming index's hits and the local index's best
    :data:`bot.matching.LOCAL_CANDIDATES`; then every other pair inside a group of files the
    pairs found link together (up to :data:`GROUP_CLOSURE_MAX` files). A meme template (one
    picture, two captions) is a pair only with ``templates``, as the guild setting. Nearest
    first.
    """
    fps = [h.fingerprint for h in hashed]
    asked = _candidates(fps, rule)
    judged: set[tuple[int, int]] = set()
    reposts: set[tuple[int, int]] = set()  # pairs (sorted) found to be reposts
    best: dict[tuple[int, int], tuple[tuple[bool, bool], Pair]] = {}

    def decide(pair: tuple[int, int]) -> tuple[tuple[int, int], Verdict]:
        query, stored = fps[pair[0]], fps[pair[1]]
        assert query is not None and stored is not None
        return pair, decide_pair(query, stored, rule)

    # OpenCV releases the GIL while it matches and fits: threads share the features.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        while asked:
            # The later file as the query first; the other way only when that is no repost
            # (it would only say the same pair again).
            later = sorted(p for p in asked if p[0] > p[1])
            for (i, j), verdict in pool.map(decide, later, chunksize=64):
                if verdict.repost or (templates and verdict.template):
                    _keep(best, i, j, verdict)
                if verdict.repost:
                    reposts.add((j, i))
            earlier = sorted(p for p in asked if p[0] < p[1] and p not in reposts)
            for (i, j), verdict in pool.map(decide, earlier, chunksize=64):
                if verdict.repost or (templates and verdict.template):
                    _keep(best, i, j, verdict)
                if verdict.repost:
                    reposts.add((i, j))
            judged |= asked
            asked = {
                (i, j)
                for group in connected_groups(len(fps), [pair for _, pair in best.values()])
                if len(group) <= GROUP_CLOSURE_MAX
                for i in group
                for j in group
                if i != j and (i, j) not in judged and (min(i, j), max(i, j)) not in reposts
            }
    return sorted((pair for _, pair in best.values()), key=lambda p: (p.distance, p.a, p.b))


def _candidates(fps: Sequence[Fingerprint | None], rule: Thresholds) -> set[tuple[int, int]]:
    """(query, stored) pairs the bot would judge: index hits and local candidates."""
    usable = {i: fp for i, fp in enumerate(fps) if fp is not None}
    # A clip's frames are entries of the index under the clip's number.
    entries = [(i, h) for i, fp in usable.items() for h in index_hashes(fp)]
    index = HammingIndex((i for i, _ in entries), (h for _, h in entries))
    local = LocalIndex()
    local.load(
        (i, fp.local.words)
        for i, fp in enumerate(fps)
        if fp and fp.local and not isinstance(fp, ClipFingerprint)
    )
    asked: set[tuple[int, int]] = set()
    for i, fp in usable.items():
        hits = index.search(query_hashes(fp) + clip_query_hashes(fp), rule.radius64)
        found = [hit.image_id for hit in hits]
        if fp.local is not None and not isinstance(fp, ClipFingerprint):
            found += local.query(fp.local, LOCAL_CANDIDATES + 1)
        asked.update((i, j) for j in found if j != i)
    return asked


def _keep(
    best: dict[tuple[int, int], tuple[tuple[bool, bool], Pair]], i: int, j: int, verdict: Verdict
) -> None:
    """Record that ``i`` judged against ``j`` is a repost (or template) of it.

    A repost wins over a template; then the pair says how the later file differs from the
    earlier when that way holds.
    """
    key = (min(i, j), max(i, j))
    rank = (verdict.repost, i > j)
    known = best.get(key)
    if known is None or rank > known[0]:
        best[key] = (rank, Pair(key[0], key[1], verdict.distance, edit_of(verdict)))


def connected_groups(n: int, pairs: Sequence[Pair]) -> list[list[int]]:
    """Connected components of the pair graph (singletons left out)."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j, *_ in pairs:
        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i, j, *_ in pairs:
        for k in (i, j):
            members = groups.setdefault(find(k), [])
            if k not in members:
                members.append(k)
    return [sorted(g) for g in groups.values()]


def cmd_dupes(args: argparse.Namespace) -> int:
    if not os.path.isdir(args.dir):
        print(f"{args.dir}: not a folder", file=sys.stderr)
        return 2
    rule = PRESETS[args.sensitivity]
    paths = walk_images(args.dir)
    progress = sys.stderr if sys.stderr.isatty() and not args.json else None
    hashed = hash_files(paths, workers=args.workers, progress=progress)
    _report_errors(hashed)
    pairs = find_pairs(hashed, rule, templates=args.templates == "alert", workers=args.workers)
    best: dict[int, int] = {}
    for i, j, d, _ in pairs:
        for k in (i, j):
            best[k] = min(best.get(k, d), d)
    groups = connected_groups(len(hashed), pairs)
    group_distance = {id(g): min(best[k] for k in g) for g in groups}
    groups.sort(key=lambda g: (group_distance[id(g)], g[0]))
    if args.json:
        print(
            json.dumps(
                {
                    "pairs": [
                        {"a": paths[p.a], "b": paths[p.b], "distance": p.distance, "edit": p.edit}
                        for p in pairs
                    ],
                    "groups": [[paths[k] for k in g] for g in groups],
                },
                indent=2,
            )
        )
        return 0
    if not groups:
        print(f"No near-duplicates among {len(hashed)} images.")
        return 0
    print(f"{len(groups)} groups of near-duplicates among {len(hashed)} images:")
    for number, group in enumerate(groups, 1):
        print(f"\ngroup {number} (closest distance {group_distance[id(group)]}):")
        for k in group:
            print(f"  {paths[k]}")
    return 0


async def forget_user(database_url: str, user_id: int) -> MemberForgotten:
    """Delete everything the bot's database keeps about a user, in every server."""
    async with open_store(database_url) as store:
        return await store.forget_member(None, user_id)


def cmd_forget_user(args: argparse.Namespace) -> int:
    try:
        config = Config.from_env()
        report = asyncio.run(forget_user(config.database_url, args.user_id))
    except ConfigError as exc:
        print(f"seenit: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"seenit: database: {exc}", file=sys.stderr)
        return 2
    print(
        f"Forgot user {args.user_id} in every server: {len(report.images)} images,"
        f" {len(report.alerts)} alerts, {report.exemptions} exemptions,"
        f" {report.added_by_cleared} allowlist and feedback entries no longer name them."
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seenit", description="Find reposted images with seenit's perceptual fingerprint."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    workers = os.cpu_count() or 1

    p_hash = sub.add_parser("hash", help="print the fingerprint and quality of images")
    p_hash.add_argument("files", nargs="+", metavar="FILE")
    p_hash.add_argument("--json", action="store_true", help="machine-readable output")
    p_hash.set_defaults(func=cmd_hash)

    p_cmp = sub.add_parser("compare", help="compare images with a source image")
    p_cmp.add_argument("source", metavar="SOURCE")
    p_cmp.add_argument("files", nargs="+", metavar="FILE")
    p_cmp.add_argument("--json", action="store_true", help="machine-readable output")
    p_cmp.set_defaults(func=cmd_compare)

    p_dupes = sub.add_parser("dupes", help="find groups of near-duplicates in a folder tree")
    p_dupes.add_argument("dir", metavar="DIR")
    p_dupes.add_argument("--json", action="store_true", help="machine-readable output")
    p_dupes.add_argument(
        "--templates",
        choices=("alert", "ignore"),
        default="ignore",
        help="one picture under two different captions: a pair or not, as the bot's guild"
        " setting (default: ignore)",
    )
    p_dupes.set_defaults(func=cmd_dupes)

    p_forget = sub.add_parser(
        "forget-user",
        help="delete everything the bot keeps about a Discord user, in every server"
        " (uses DATABASE_URL, as the bot does)",
    )
    p_forget.add_argument("user_id", type=int, metavar="USER_ID", help="the user's Discord id")
    p_forget.set_defaults(func=cmd_forget_user)

    for p in (p_hash, p_cmp, p_dupes):
        p.add_argument(
            "--sensitivity",
            choices=sorted(PRESETS),
            default="normal",
            help="decision rule, as the bot's guild setting (default: normal)",
        )
        p.add_argument(
            "--workers", type=int, default=workers, help=f"processes (default: {workers})"
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

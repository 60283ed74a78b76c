"""Detection quality measured through ``seenit dupes``, exactly as a user would run it.

``python -m bench.quality.through_dupes --originals 120 --offset 1`` links the chosen
originals of the quality corpus (``bench/quality/corpus.py``) and every variant of each into
one folder, runs ``python -m bot.cli dupes FOLDER --json`` in a fresh process and scores the
pairs it prints:

* recall per edit: the variant is paired with its own original (non-blank originals);
* false pairs: any pair of two files made from different originals, listed;
* templates: ``template_b`` paired with ``template_a`` (two captions on one picture: should
  not be a pair by default), ``template_a_small`` with ``template_a`` (the same meme again:
  should);
* pairs between two edits of the same original, for information;
* the command's wall and CPU time.

``seenit dupes`` judges every pair both ways with both stages, so a pair here is a pair the
bot would alert on whichever file was posted first.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import bot.cli  # noqa: F401  (the digest of the code measured covers the modules it imports)
from bench.common import PROJECT_ROOT, machine_line, md_table, write_results
from bench.quality.corpus import (
    EASY_TRANSFORMS,
    HARD_TRANSFORMS,
    Corpus,
    load_corpus,
)
from bench.quality.evaluate import subset
from bot.hashing import SMOOTH_QUALITY, fingerprint

ORIGINAL = "original"


def link_folder(corpus: Corpus, folder: Path) -> dict[str, tuple[str, str]]:
    """Link every original and variant into ``folder``; path -> (original, edit)."""
    roles: dict[str, tuple[str, str]] = {}
    for original in corpus.originals:
        link = folder / f"{original.name}__{ORIGINAL}{original.path.suffix}"
        link.symlink_to(original.path)
        roles[str(link)] = (original.name, ORIGINAL)
        for variant in corpus.variants_of(original.name):
            link = folder / f"{original.name}__{variant.transform}{variant.path.suffix}"
            link.symlink_to(variant.path)
            roles[str(link)] = (original.name, variant.transform)
    return roles


def run_dupes(folder: Path, workers: int) -> tuple[list[dict[str, Any]], float, float]:
    """``seenit dupes --json`` on the folder: its pairs, wall seconds, CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "dupes",
            str(folder),
            "--json",
            "--workers",
            f"{workers}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.stderr.strip():
        print(done.stderr, file=sys.stderr)
    pairs: list[dict[str, Any]] = json.loads(done.stdout)["pairs"]
    return pairs, wall, cpu


def score(
    corpus: Corpus, roles: dict[str, tuple[str, str]], pairs: list[dict[str, Any]]
) -> dict[str, Any]:
    """Recall per edit, false pairs, template pairs and same-original pairs."""
    blank = {o.name for o in corpus.originals if o.kind == "blank"}
    found: set[tuple[str, str, str]] = set()  # (original, edit a, edit b), edits sorted
    false_pairs = []
    for pair in pairs:
        (oa, ea), (ob, eb) = roles[pair["a"]], roles[pair["b"]]
        if oa != ob:
            false_pairs.append(
                {"a": f"{oa} [{ea}]", "b": f"{ob} [{eb}]", "distance": pair["distance"]}
            )
            continue
        first, second = sorted((ea, eb))
        found.add((oa, first, second))
    counted = [o.name for o in corpus.originals if o.name not in blank]
    present = Counter(v.transform for v in corpus.variants if v.original_name not in blank)
    recall = {}
    for edit in present:
        first, second = sorted((ORIGINAL, edit))
        hits = sum(1 for o in counted if (o, first, second) in found)
        recall[edit] = (hits, present[edit])
    within = Counter(o for o, a, b in found if ORIGINAL not in (a, b))
    templates = {
        "different_captions": sum((o, "template_a", "template_b") in found for o in counted),
        "same_caption": sum((o, "template_a", "template_a_small") in found for o in counted),
        "of": sum(1 for o in counted if present.get("template_a")),
    }
    return {
        "recall": recall,
        "false_pairs": false_pairs,
        "templates": templates,
        "pairs": len(pairs),
        "same_original_edit_pairs": sum(within.values()),
        "blank_pairs": sum(1 for o, *_ in found if o in blank),
    }


def _mean(recall: dict[str, tuple[int, int]], edits: tuple[str, ...]) -> float:
    values = [100 * h / n for e, (h, n) in recall.items() if e in edits and n]
    return sum(values) / len(values) if values else 0.0


def report(
    corpus: Corpus, args: argparse.Namespace, scored: dict[str, Any], times: Any, machine: str
) -> str:
    recall: dict[str, tuple[int, int]] = scored["recall"]
    wall, cpu, files = times
    easy, hard = _mean(recall, EASY_TRANSFORMS), _mean(recall, HARD_TRANSFORMS)
    rows = [
        (edit, "easy" if edit in EASY_TRANSFORMS else "hard", f"{h} / {n}", f"{100 * h / n:.1f}")
        for edit in (*EASY_TRANSFORMS, *HARD_TRANSFORMS)
        if edit in recall
        for h, n in [recall[edit]]
    ]
    t = scored["templates"]
    false_rows = [(p["a"], p["b"], p["distance"]) for p in scored["false_pairs"]]
    lines = [
        "# Detection quality through `seenit dupes`",
        "",
        machine,
        "",
        f"`python -m bench.quality.through_dupes {_arguments(args)}`:"
        f" {len(corpus.originals)} originals of the quality corpus"
        f" ({corpus.version}) and their {len(corpus.variants)} variants, {files} files in one"
        " folder; `python -m bot.cli dupes FOLDER --json` ran once, in a fresh process"
        f" with {args.workers} workers: {wall:.0f} s wall, {cpu:.0f} s CPU"
        f" ({1000 * wall / max(1, files):.1f} ms per file). It printed {scored['pairs']:,}"
        " pairs. An edit counts as found when its file is paired with its own original;"
        " blank originals are left out of recall.",
        "",
        f"**Mean recall: easy {easy:.1f}%, hard {hard:.1f}%. False pairs (files of"
        f" different originals): {len(false_rows)}.**",
        "",
        md_table(("edit", "group", "paired with its original", "%"), rows),
        "",
        "## Meme templates",
        "",
        f"* two different captions on one picture paired: {t['different_captions']} of"
        f" {t['of']} (should not be, by default);",
        f"* the same captioned meme again (70%) paired: {t['same_caption']} of {t['of']}.",
        "",
        f"Pairs between two edits of the same original: {scored['same_original_edit_pairs']:,}."
        f" Pairs of a blank original's files: {scored['blank_pairs']}.",
        "",
        "## False pairs",
        "",
        md_table(("file", "paired with", "distance"), false_rows) if false_rows else "None.",
    ]
    return "\n".join(lines)


def _arguments(args: argparse.Namespace) -> str:
    if args.low_detail:
        return "--low-detail"
    return f"--originals {args.originals} --offset {args.offset}"


def low_detail(corpus: Corpus) -> Corpus:
    """The originals whose fingerprint scores at most :data:`bot.hashing.SMOOTH_QUALITY`
    (smooth wallpapers, stripes, the blank ones) and their variants: where false pairs
    between smooth pictures would show."""
    kept = tuple(
        o
        for o in corpus.originals
        if o.kind == "blank" or fingerprint(o.path.read_bytes()).quality <= SMOOTH_QUALITY
    )
    names = {o.name for o in kept}
    variants = tuple(v for v in corpus.variants if v.original_name in names)
    return dataclasses.replace(corpus, originals=kept, variants=variants)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--originals", type=int, default=120)
    parser.add_argument("--offset", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--name", default="", help="results file name (default by offset)")
    parser.add_argument(
        "--low-detail",
        action="store_true",
        help="instead of --originals/--offset: every original of the corpus whose fingerprint"
        " scores at most the smooth-picture quality (blank ones included), all against all",
    )
    args = parser.parse_args(argv)
    loaded = load_corpus()
    if loaded is None:
        print("no quality corpus: run python -m bench.quality.corpus first", file=sys.stderr)
        return 2
    corpus = low_detail(loaded) if args.low_detail else subset(loaded, args.originals, args.offset)
    # The code measured is the code when the run starts: seenit dupes imports it then.
    machine = machine_line()
    folder = Path(tempfile.mkdtemp(prefix="seenit-dupes-"))
    try:
        roles = link_folder(corpus, folder)
        pairs, wall, cpu = run_dupes(folder, args.workers)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    scored = score(corpus, roles, pairs)
    markdown = report(corpus, args, scored, (wall, cpu, len(roles)), machine)
    default = "low-detail" if args.low_detail else f"{args.originals}-{args.offset}"
    name = args.name or f"quality-dupes-{default}"
    # Paths are temporary: keep the roles only.
    write_results(name, markdown, {**scored, "wall_s": wall, "cpu_s": cpu, "files": len(roles)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

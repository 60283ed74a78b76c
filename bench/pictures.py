"""What a comparison picture adds to an answer: ``bot.pictures.comparison`` timed.

Run ``python -m bench.pictures`` (about a minute). Writes bench/results/pictures.md.

Inputs: the committed photos in tests/data (chelsea, coffee, rocket, astronaut, motorcycle),
each resized (Lanczos) to a realistic upload and saved as JPEG: ``1280x720`` (16:9 crop,
quality 85, a typical chat upload) and ``4032x3024`` (4:3 crop, quality 90, a phone camera
photo). One comparison = the new image and four earlier ones: the best match as the second
large tile and three small tiles below, the most ``comparison`` ever draws.

Methods, alternated every round so that machine noise hits both alike:

* ``seenit``: ``bot.pictures.comparison(new, earlier)``: libjpeg draft decode, Lanczos fit,
  WebP quality 80;
* ``naive``: the same layout drawn the obvious way: ``Image.open`` + ``load()`` (full
  decode) + ``thumbnail`` per tile, PNG encode.

Times are wall clock per picture, one thread, after one warm-up call each.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, ImageOps

from bench.common import RESULTS_DIR, fmt_ms, fmt_ratio, machine_line, md_table, median, percentile
from bot.pictures import BACKGROUND, LABEL_HEIGHT, MAIN_SIDE, PAD, SMALL_SIDE, Tile, comparison

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
PHOTOS = ("chelsea.jpg", "coffee.jpg", "rocket.jpg", "astronaut.jpg", "motorcycle.jpg")
SIZES = {"1280x720": ((1280, 720), 85), "4032x3024": ((4032, 3024), 90)}
TARGET_MS = 100.0


def upload(name: str, size: tuple[int, int], quality: int) -> bytes:
    with Image.open(DATA / name) as im:
        picture = ImageOps.fit(im.convert("RGB"), size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def naive(new: Tile, earlier: Sequence[Tile]) -> bytes:
    """The comparison layout with a full decode, ``thumbnail`` and PNG."""

    def tile(data: bytes, side: int) -> Image.Image:
        im = Image.open(io.BytesIO(data))
        im.load()
        im = im.convert("RGB")
        im.thumbnail((side, side))
        return im

    best, rest = earlier[0], earlier[1:4]
    width = 2 * MAIN_SIDE + 3 * PAD
    height = 2 * PAD + MAIN_SIDE + LABEL_HEIGHT + (SMALL_SIDE + LABEL_HEIGHT + PAD if rest else 0)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    for i, t in enumerate((new, best)):
        assert t.data is not None
        canvas.paste(tile(t.data, MAIN_SIDE), (PAD + i * (MAIN_SIDE + PAD), PAD))
    for i, t in enumerate(rest):
        assert t.data is not None
        top = 2 * PAD + MAIN_SIDE + LABEL_HEIGHT
        canvas.paste(tile(t.data, SMALL_SIDE), (PAD + i * (SMALL_SIDE + PAD), top))
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    return buffer.getvalue()


def measure(
    methods: dict[str, Callable[[], bytes]], runs: int
) -> dict[str, tuple[list[float], int]]:
    out: dict[str, tuple[list[float], int]] = {}
    for name, fn in methods.items():
        out[name] = ([], len(fn()))  # warm-up, and the output size
    for round_ in range(runs):
        order = list(methods.items())
        if round_ % 2:
            order.reverse()
        for name, fn in order:
            start = time.perf_counter()
            fn()
            out[name][0].append(time.perf_counter() - start)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    machine = machine_line()
    rows = []
    verdicts = []
    for label, (size, quality) in SIZES.items():
        uploads = [upload(name, size, quality) for name in PHOTOS]
        new = Tile(uploads[0], "This image")
        earlier = [Tile(data, f"99% similar · {i}") for i, data in enumerate(uploads[1:], 1)]
        results = measure(
            {
                "seenit": lambda new=new, earlier=earlier: comparison(new, earlier),
                "naive": lambda new=new, earlier=earlier: naive(new, earlier),
            },
            args.runs,
        )
        inputs = f"{sum(map(len, uploads)) / 1024:.0f} KB in 5 JPEGs"
        seenit_median = median(results["seenit"][0])
        for name, (times, out_size) in results.items():
            rows.append(
                [
                    label,
                    name,
                    fmt_ms(median(times)),
                    fmt_ms(percentile(times, 95)),
                    f"{out_size / 1024:.0f}",
                    fmt_ratio(median(times) / seenit_median) if name == "naive" else "1x",
                    inputs,
                ]
            )
        p95 = percentile(results["seenit"][0], 95) * 1000
        verdicts.append([label, f"{p95:.1f} ms", "yes" if p95 < TARGET_MS else "**no**"])
    text = "\n".join(
        [
            "# Comparison pictures (`python -m bench.pictures`)",
            "",
            machine,
            "",
            (
                f"`bot.pictures.comparison` with the new image and 4 earlier ones (2 large "
                f"tiles, 3 small: the most it draws), {args.runs} runs per method, alternated; "
                "wall-clock ms per picture on one thread. Inputs: the 5 committed photos of "
                "tests/data resized (Lanczos) to the upload size and saved as JPEG (quality 85 "
                "at 1280x720, 90 at 4032x3024). *naive*: the same layout with "
                "`Image.open` + full `load()` + `thumbnail` per tile and a PNG encode. "
                "*slower* is the naive median over seenit's."
            ),
            "",
            md_table(
                ["input", "method", "median ms", "p95 ms", "output KB", "slower", "inputs"],
                rows,
            ),
            "",
            f"Target: under {TARGET_MS:.0f} ms added to an answer (seenit p95).",
            "",
            md_table(["input", "seenit p95", "met"], verdicts),
            "",
        ]
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "pictures.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

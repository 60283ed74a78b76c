"""The local stage on real photographs: crops, rotations, captions, screenshots, templates."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from itertools import permutations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from bot.hashing import decode, fingerprint
from bot.local import LocalFeatures, LocalIndex, extract_local, judge_local
from bot.local.features import FeaturesError, index_words
from bot.local.verify import MAX_DENSE_DISTANCE
from bot.matching import TEMPLATE_CHECKS, Match, Verdict, mark_templates
from bot.records import ImageRecord
from tests.conftest import DATA, PHOTOS, encode, photo


def local_of(image: Image.Image) -> LocalFeatures:
    """Local features as the bot computes them: from the bytes a user would post."""
    features = fingerprint(encode(image, quality=90)).local
    assert features is not None
    return features


def crop(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = image.size
    return image.crop((int(w * left), int(h * top), int(w * (1 - right)), int(h * (1 - bottom))))


def rotate(image: Image.Image, degrees: float, cut: float = 0.06) -> Image.Image:
    """Rotated, then cropped to leave out the empty corners (as an editor does)."""
    turned = image.rotate(degrees, resample=Image.Resampling.BICUBIC)
    return crop(turned, cut, cut, cut, cut)


def brighter(image: Image.Image) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(1.25)


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def caption(image: Image.Image, text: str, share: float = 0.22) -> Image.Image:
    """A white bar with black text above the picture, the classic meme layout."""
    w, h = image.size
    bar = int(h * share)
    out = Image.new("RGB", (w, h + bar), "white")
    out.paste(image, (0, bar))
    ImageDraw.Draw(out).text((w // 20, bar // 4), text, fill="black", font=font(bar // 3))
    return out


def screenshot(image: Image.Image) -> Image.Image:
    """The picture inside a chat window: a title bar, a few lines of text, a margin."""
    w, h = image.size
    out = Image.new("RGB", (int(w * 1.6), int(h * 1.8)), (54, 57, 63))
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, 0, out.width, h // 8), fill=(32, 34, 37))
    draw.text((12, h // 5), "look what I found", fill=(220, 221, 222), font=font(h // 14))
    out.paste(image, (int(w * 0.1), int(h * 0.45)))
    draw.text((12, int(h * 1.55)), "lol", fill=(220, 221, 222), font=font(h // 14))
    return out


def phone(image: Image.Image) -> Image.Image:
    """A portrait phone screenshot: a status bar, the picture at the screen's width, and
    many lines of comments below (their corners outnumber the picture's)."""
    width = 540
    shown = image.resize((width, image.height * width // image.width))
    out = Image.new("RGB", (width, int(width * 2.1)), "white")
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, 0, width, 40), fill=(17, 17, 17))
    draw.text((20, 8), "12:27", fill="white", font=font(22))
    draw.text((20, 60), "@juniper", fill="black", font=font(24))
    out.paste(shown, (0, 110))
    y = 110 + shown.height + 20
    lines = ("132 likes", "so true", "who made this", "lol same", "this is me every day")
    while y < out.height - 40:
        draw.text((20, y), lines[y % len(lines)], fill=(30, 30, 30), font=font(22))
        y += 34
    return out


def lettering(image: Image.Image) -> Image.Image:
    """Meme text drawn over the top and bottom of the picture: white with a black outline."""
    out = image.copy()
    w, h = out.size
    draw = ImageDraw.Draw(out)
    letters = font(max(10, h // 9))
    for text, y in (("WHEN THE CODE", 0.03), ("WORKS FIRST TRY", 0.84)):
        left = (w - draw.textlength(text, font=letters)) / 2
        draw.text(
            (left, h * y), text, font=letters, fill="white", stroke_width=2, stroke_fill="black"
        )
    return out


EDITS = {
    "crop 10%": (lambda im: crop(im, 0.1, 0.1, 0.1, 0.1), "cropped"),
    "corner crop 20%": (lambda im: crop(im, 0.2, 0.2, 0.0, 0.0), "cropped"),
    "rotated 5 degrees": (lambda im: rotate(im, 5), "rotated by 5 degrees"),
    "rotated -3 degrees": (lambda im: rotate(im, -3), "rotated by 3 degrees"),
    "rotated -10 degrees": (lambda im: rotate(im, -10, 0.12), "rotated by 10 degrees"),
    "captioned": (lambda im: caption(im, "WHEN THE CODE WORKS"), "captioned"),
    "screenshot": (screenshot, "inside a screenshot"),
    "brighter": (brighter, "the same picture"),
    "half size": (lambda im: im.resize((im.width // 2, im.height // 2)), "the same picture"),
    # Small text barely moves the dense check ("the same picture"); large text needs the
    # middle band ("text added over the picture"): either is a repost.
    "text over the picture": (lettering, ""),
}


@pytest.fixture(scope="module")
def originals() -> dict[str, LocalFeatures]:
    return {name: local_of(photo(name)) for name in PHOTOS}


@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize("name", PHOTOS)
def test_edits_are_matched_and_named(
    originals: dict[str, LocalFeatures], name: str, edit: str
) -> None:
    make, words = EDITS[edit]
    verdict = judge_local(local_of(make(photo(name))), originals[name])
    assert verdict is not None
    assert not verdict.template
    assert words in verdict.edit


def test_distinct_photos_never_match(originals: dict[str, LocalFeatures]) -> None:
    for a, b in permutations(PHOTOS, 2):
        assert judge_local(originals[a], originals[b]) is None, (a, b)
        edited = local_of(crop(photo(a), 0.1, 0.1, 0.1, 0.1))
        assert judge_local(edited, originals[b]) is None, (a, b)


@pytest.mark.parametrize("name", PHOTOS[:3])
def test_templates(name: str) -> None:
    picture = photo(name)
    first = local_of(caption(picture, "WHEN THE CODE WORKS"))
    second = local_of(caption(picture, "NOBODY: ABSOLUTELY NOBODY"))
    again = caption(picture, "WHEN THE CODE WORKS")
    again = local_of(again.resize((again.width * 3 // 4, again.height * 3 // 4)))
    other_caption = judge_local(second, first)
    assert other_caption is not None and other_caption.template
    reposted = judge_local(again, first)
    assert reposted is not None and not reposted.template
    bare = judge_local(first, local_of(picture))
    assert bare is not None and not bare.template and "captioned" in bare.edit


@pytest.mark.parametrize("name", PHOTOS)
def test_a_phone_screenshot_is_matched(originals: dict[str, LocalFeatures], name: str) -> None:
    # The picture is a third of the screenshot and the text lines below have more corners
    # than it: its keypoints are found at its own scale, in the picture band of the feed
    # (the rocket's smooth sky needs them).
    verdict = judge_local(local_of(phone(photo(name))), originals[name])
    assert verdict is not None
    assert not verdict.template
    assert verdict.edit == "inside a screenshot"


@pytest.mark.parametrize(
    "edit",
    [
        brighter,
        lambda im: im.rotate(180),
        lambda im: rotate(im, 3),
        lambda im: im.resize((im.width * 2 // 3, im.height * 2 // 3)),
    ],
    ids=["brighter", "upside down", "rotated 3 degrees", "smaller"],
)
def test_an_edit_of_a_captioned_meme_is_a_repost_not_a_template(
    edit: Callable[[Image.Image], Image.Image],
) -> None:
    meme = caption(photo("coffee.jpg"), "WHEN THE CODE WORKS")
    verdict = judge_local(local_of(edit(meme)), local_of(meme))
    assert verdict is not None
    assert not verdict.template


def test_blob_round_trip(originals: dict[str, LocalFeatures]) -> None:
    features = originals["chelsea.jpg"]
    blob = features.to_bytes()
    again = LocalFeatures.from_bytes(blob)
    assert (again.width, again.height, len(again)) == (
        features.width,
        features.height,
        len(features),
    )
    assert (again.descriptors == features.descriptors).all()
    assert (again.word_ids == features.word_ids).all()
    assert abs(again.points - features.points).max() <= 1 / 16
    assert again.regions == features.regions
    assert again.words == features.words
    assert len(features.words) <= 2048
    assert len(blob) < 25_000
    # The stored blob judges like the fresh features.
    verdict = judge_local(local_of(crop(photo("chelsea.jpg"), 0.1, 0.1, 0.1, 0.1)), again)
    assert verdict is not None


@pytest.mark.parametrize("blob", [b"", b"SLF1", b"not a blob at all", b"SLF1" + bytes(40)])
def test_malformed_blobs_are_refused(blob: bytes) -> None:
    with pytest.raises(FeaturesError):
        LocalFeatures.from_bytes(blob)


def test_low_texture_images_have_no_local_features() -> None:
    blank = Image.new("RGB", (640, 480), (40, 90, 160))
    ImageDraw.Draw(blank).rectangle((100, 100, 140, 140), fill="white")
    assert extract_local(decode(encode(blank))) is None
    assert fingerprint(encode(blank)).local is None


def test_index_finds_the_original_of_each_edit(originals: dict[str, LocalFeatures]) -> None:
    index = LocalIndex()
    ids = {name: i + 100 for i, name in enumerate(PHOTOS)}
    for name, features in originals.items():
        index.add(ids[name], features.words)
    assert len(index) == len(PHOTOS)
    for name in PHOTOS:
        for edit in ("crop 10%", "captioned", "screenshot", "rotated 5 degrees"):
            query = local_of(EDITS[edit][0](photo(name)))
            assert index.query(query, top=2)[0] == ids[name], (name, edit)
    assert index.remove(ids["coffee.jpg"])
    assert not index.remove(ids["coffee.jpg"])
    assert ids["coffee.jpg"] not in index.query(originals["coffee.jpg"], top=5)
    assert len(index) == len(PHOTOS) - 1


def test_index_words_favour_the_middle_every_crop_keeps(
    originals: dict[str, LocalFeatures],
) -> None:
    """A crop of 60% of each side shares more of its original's index words than it would
    with the words of the strongest keypoints alone (of the whole picture)."""
    shared, by_strength = 0, 0
    for name, features in originals.items():
        query = np.unique(local_of(crop(photo(name), 0.2, 0.2, 0.2, 0.2)).word_ids)
        stored = np.frombuffer(features.words, "<u2")
        shared += len(np.intersect1d(query, stored))
        by_strength += len(np.intersect1d(query, index_words(features.word_ids)))
    assert shared > 1.2 * by_strength


def test_index_words_take_the_strongest_edge_keypoints_and_then_the_middle() -> None:
    # 200 keypoints along the edges, strongest first, then 200 in the middle.
    n = 400
    edge = np.stack([np.zeros(200), np.linspace(0, 99, 200)], axis=1)
    middle = np.full((200, 2), 50.0)
    points = np.concatenate([edge, middle]).astype(np.float32)
    word_ids = np.arange(n, dtype=np.uint16)
    kept = index_words(word_ids, points, (100, 100), limit=160)
    assert len(kept) == 160
    # An edge keypoint k-th in strength ranks as 9 k, a middle one as k: the first 160 are
    # the 36 strongest edge keypoints (up to 324) and the middle ones from 201 to 324.
    assert kept.tolist() == list(range(36)) + list(range(200, 324))
    # Without places, the strongest keypoints' words, as before.
    assert index_words(word_ids, limit=160).tolist() == list(range(160))
    # A word repeated by several keypoints counts once, at its first place.
    repeated = np.where(word_ids >= 200, word_ids - 200, word_ids).astype(np.uint16)
    assert index_words(repeated, points, (100, 100), limit=160).tolist() == list(range(160))


def test_index_load_matches_adds(originals: dict[str, LocalFeatures]) -> None:
    loaded = LocalIndex()
    loaded.load((i, features.words) for i, features in enumerate(originals.values()))
    added = LocalIndex()
    for i, features in enumerate(originals.values()):
        added.add(i, features.words)
    for features in originals.values():
        assert loaded.query(features) == added.query(features)


def test_fingerprint_carries_local_features() -> None:
    fp = fingerprint((DATA / "rocket.jpg").read_bytes())
    assert fp.local is not None and len(fp.local) >= 100
    again = fingerprint(io.BytesIO((DATA / "rocket.jpg").read_bytes()).getvalue())
    assert again.local is not None and again.local.words == fp.local.words


def _global_match(image_id: int, distance: int) -> Match:
    record = ImageRecord(image_id, 1, 2, 100 + image_id, 3, 0, image_id, 0, b"", 9)
    return Match(record, Verdict(distance, distance // 4, 0, True, ""))


def test_a_picture_under_many_captions_costs_a_bounded_template_check() -> None:
    picture = photo(PHOTOS[0])
    query = local_of(caption(picture, "A BRAND NEW CAPTION"))
    others = [caption(picture, f"CAPTION NUMBER {n}") for n in range(TEMPLATE_CHECKS + 4)]
    blobs = {n: local_of(image).to_bytes() for n, image in enumerate(others)}
    matches = [_global_match(n, 20 + n) for n in blobs]
    # Every stored image is another caption: the best are judged templates, the rest left out.
    marked = mark_templates(query, matches, blobs)
    assert len(marked) == TEMPLATE_CHECKS and all(m.verdict.template for m in marked)
    # The same captioned meme stored once, closest: the others stay reposts, unjudged.
    same = caption(picture, "A BRAND NEW CAPTION")
    blobs[99] = local_of(same.resize((same.width * 3 // 4, same.height * 3 // 4))).to_bytes()
    marked = mark_templates(query, [*matches, _global_match(99, 4)], blobs)
    judged = set(range(TEMPLATE_CHECKS - 1))
    assert all(m.verdict.template for m in marked if m.image.id in judged)
    assert {m.image.id for m in marked if not m.verdict.template} == {*blobs} - judged
    assert {m.image.id for m in marked} == {*blobs}


def test_a_fit_turned_far_from_a_quarter_turn_is_no_match() -> None:
    # Reposts are turned by a few degrees or by quarter turns; lines that line up at 30
    # degrees (a shared watermark, a texture) say nothing about two pictures being one.
    from bot.local.verify import align

    picture = photo("chelsea.jpg")
    stored = local_of(picture)
    tilted = picture.rotate(8, resample=Image.Resampling.BICUBIC, expand=True)
    found = align(local_of(tilted), stored)
    assert found is not None and abs(abs(found.rotation) - 8) < 2
    turned = picture.rotate(30, resample=Image.Resampling.BICUBIC, expand=True)
    assert align(local_of(turned), stored) is None


def _stamped(image: Image.Image, text: str = "u/sharer") -> Image.Image:
    """A semi-transparent handle and logo in the bottom-right corner, as reposters add."""
    base = image.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = max(12, base.height // 16)
    box = draw.textbbox((0, 0), text, font=font(size))
    x, y = base.width - (box[2] - box[0]) - size, base.height - (box[3] - box[1]) - size
    draw.ellipse(
        (x - size * 1.6, y - size * 0.1, x - size * 0.4, y + size * 1.1), fill=(255, 255, 255, 150)
    )
    draw.text(
        (x, y),
        text,
        font=font(size),
        fill=(255, 255, 255, 170),
        stroke_width=2,
        stroke_fill=(0, 0, 0, 120),
    )
    return Image.alpha_composite(base, layer).convert("RGB")


def _night_sky(top: tuple[int, int, int], bottom: tuple[int, int, int], glow: float) -> Image.Image:
    """A smooth wallpaper: a vertical gradient, a soft glow and a few hundred stars."""
    import numpy as np

    w, h = 800, 600
    t = np.linspace(0.0, 1.0, h)[:, None, None]
    pixels = np.repeat((1 - t) * np.array(top) + t * np.array(bottom), w, axis=1)
    yy, xx = np.mgrid[0:h, 0:w]
    spot = np.exp(-(((xx - w * 0.6) / (w * 0.3)) ** 2 + ((yy - h * 0.4) / (h * 0.3)) ** 2))
    pixels += glow * spot[..., None]
    rng = np.random.default_rng(sum(top))
    for y, x in zip(rng.integers(0, h, 300), rng.integers(0, w, 300), strict=True):
        pixels[y : y + 2, x : x + 2] += 60
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def test_a_watermark_shared_by_two_different_pictures_is_no_match() -> None:
    # Two smooth wallpapers carrying the same handle: the handle lines up, and the dense
    # hashes of two gradients agree within the threshold. The inliers all sit in the
    # handle's corner, and the aligned pictures do not correlate: no repost.
    from bot.local.verify import MAX_DENSE_DISTANCE, MIN_PINNED_AGREEMENT, MIN_SPREAD, examine

    purple = _stamped(_night_sky((120, 40, 90), (30, 20, 110), 0.0))
    brown = _stamped(_night_sky((60, 40, 20), (20, 15, 10), 90.0))
    for query, stored in ((brown, purple), (purple, brown)):
        found = examine(local_of(query), local_of(stored))
        assert found is not None and found.dense_distance is not None
        # The dense check alone would have called it a repost.
        assert found.dense_distance <= MAX_DENSE_DISTANCE
        assert found.spread < MIN_SPREAD
        assert found.agreement is not None and found.agreement < MIN_PINNED_AGREEMENT
        assert found.verdict is None
    # A crop of the stamped picture itself is still one.
    cropped = examine(local_of(crop(purple, 0.1, 0.1, 0.0, 0.0)), local_of(purple))
    assert cropped is not None and cropped.verdict is not None


def test_star_fields_that_line_up_by_chance_are_no_match() -> None:
    # Scattered dots look alike to ORB: ten of them can fit one transform on two different
    # pictures, over most of the image, and the dense hashes of two gradients agree. The
    # aligned pictures do not correlate.
    from bot.local.verify import (
        MAX_DENSE_DISTANCE,
        MIN_AGREEMENT,
        MIN_SPREAD,
        _examine_fit,
        alignments,
        examine,
    )

    brown = _stamped(_night_sky((60, 40, 20), (20, 15, 10), 90.0))
    blue = _stamped(_night_sky((20, 60, 120), (10, 20, 40), 0.0))
    query, stored = local_of(blue), local_of(brown)
    fits = [_examine_fit(query, stored, fit, False) for fit in alignments(query, stored)]
    spread = [
        found
        for found in fits
        if found.dense_distance is not None
        and found.dense_distance <= MAX_DENSE_DISTANCE
        and found.spread >= MIN_SPREAD
    ]
    assert spread
    assert all(f.agreement is not None and f.agreement < MIN_AGREEMENT for f in spread)
    assert examine(query, stored) is not None
    assert judge_local(query, stored) is None


def test_a_global_match_the_local_stage_refutes_is_dropped() -> None:
    # A watermark stamped on two smooth pictures brought their global hashes together (or
    # a view of the query matched); the local stage lines the two up on the watermark and
    # finds different pictures: that match goes. A real screenshot of the stored picture
    # matched through its view stays, and so does a mirrored match (no fit lines up a
    # mirrored query's keypoints: the local stage has nothing to say about it).
    from dataclasses import replace

    from bot.matching import refute

    purple = _stamped(_night_sky((120, 40, 90), (30, 20, 110), 0.0))
    brown = _stamped(_night_sky((60, 40, 20), (20, 15, 10), 90.0))
    picture = photo(PHOTOS[0])
    blobs = {1: local_of(purple).to_bytes(), 2: local_of(picture).to_bytes()}
    view = "screenshot of an image"
    whole = _global_match(1, 12)
    through_view = Match(whole.image, replace(whole.verdict, view=view))
    mirrored = Match(whole.image, replace(whole.verdict, orientation=4))
    assert refute(local_of(brown), [whole], blobs) == []
    assert refute(local_of(brown), [through_view], blobs) == []
    assert refute(local_of(brown), [mirrored], blobs) == [mirrored]
    right = _global_match(2, 10)
    right = Match(right.image, replace(right.verdict, view=view))
    assert refute(local_of(screenshot(picture)), [right], blobs) == [right]


def test_judge_pair_keeps_a_screenshot_matched_through_its_view() -> None:
    from bot.matching import judge_pair

    picture = photo(PHOTOS[0])
    stored = fingerprint(encode(picture, quality=90))
    verdict = judge_pair(fingerprint(encode(screenshot(picture), quality=90)), stored)
    assert verdict.repost


def _fine_texture(seed: int) -> Image.Image:
    """A wallpaper of fine grain over a faint gradient: its DCT hash is mostly grain."""
    rng = np.random.default_rng(seed)
    width, height = 1600, 1000
    grain = Image.fromarray(
        np.clip(128 + 60 * rng.normal(0, 1, (height, width)), 0, 255).astype(np.uint8)
    ).filter(ImageFilter.GaussianBlur(1.5))
    grey = np.asarray(grain).astype(np.float64)
    grey = (grey - grey.mean()) * 3 + 110 + 20 * np.linspace(-1, 1, width)[None, :]
    bands = [grey, grey * 0.9 + 10, grey * 0.6]
    return Image.merge("RGB", [Image.fromarray(np.clip(b, 0, 255).astype(np.uint8)) for b in bands])


def test_a_crop_of_a_fine_texture_is_matched_by_how_closely_it_agrees() -> None:
    from bot.local.verify import MAX_BAND_DISTANCE, MAX_DENSE_DISTANCE, examine

    original = local_of(_fine_texture(1))
    found = examine(local_of(crop(_fine_texture(1), 0.2, 0.2, 0.2, 0.2)), original)
    assert found is not None and found.dense_distance is not None
    # The grain moves the dense hash past both of its thresholds...
    assert found.dense_distance > MAX_DENSE_DISTANCE
    assert found.band_distance is not None and found.band_distance > MAX_BAND_DISTANCE
    # ...but the fit spans the picture and the aligned pictures agree: one picture.
    verdict = found.verdict
    assert verdict is not None and verdict.repost
    assert verdict.edit == "cropped"
    # Another wallpaper made the same way is no match.
    assert judge_local(local_of(_fine_texture(2)), original) is None
    assert judge_local(local_of(crop(_fine_texture(2), 0.2, 0.2, 0.2, 0.2)), original) is None


def _land(size: int) -> Image.Image:
    """A smooth picture: white sky over a beige plain."""
    rows = np.clip((np.linspace(0, 1, size) - 0.35) / 0.1, 0, 1)[:, None, None]
    pixels = np.array([255.0, 255, 255]) * (1 - rows) + np.array([200.0, 190, 160]) * rows
    return Image.fromarray(np.repeat(pixels, size, axis=1).astype(np.uint8))


@pytest.mark.parametrize(
    ("sizes", "names"),
    [
        ((256, 512), ("stellarium-landscapes--jupiter-jupiter-256", "synthetic-blank--solid-00")),
        ((512, 512), ("a", "b")),
    ],
)
def test_chat_screenshots_of_two_smooth_pictures_are_no_pair(
    sizes: tuple[int, int], names: tuple[str, str]
) -> None:
    # Two chat windows line up on the glyphs of their messages, over a third of the image,
    # and two smooth pictures in the same dark frame correlate at 0.96-0.97 while their
    # dense hashes differ by 40-48 bits: the frame, not the pictures, agrees.
    from bench.quality.corpus import apply_transform
    from bot.local.verify import TEXTURE_AGREEMENT, examine
    from bot.matching import judge_pair

    land, _ = apply_transform(_land(sizes[0]), "canvas_chat", names[0])
    blank, _ = apply_transform(Image.new("RGB", (sizes[1],) * 2, "white"), "canvas_chat", names[1])
    ours, theirs = fingerprint(land), fingerprint(blank)
    assert ours.local is not None and theirs.local is not None
    agreed = [
        found
        for found in (examine(ours.local, theirs.local), examine(theirs.local, ours.local))
        if found is not None and found.agreement is not None
    ]
    assert any(found.agreement >= TEXTURE_AGREEMENT and found.framed for found in agreed)  # type: ignore[operator]
    assert not judge_pair(ours, theirs).repost
    assert not judge_pair(theirs, ours).repost


@pytest.mark.parametrize("width", [400, 900])
def test_one_caption_over_two_pictures_is_no_pair(width: int) -> None:
    # The same words line up over a night sky and over a flat block: every inlier sits in
    # the two caption bars, and the aligned overlaps (mostly caption) agree within the
    # dense limit. The pictures under the bars decide.
    from bot.local.verify import examine
    from bot.matching import judge_pair

    text = "NOBODY: ABSOLUTELY NOBODY:"
    sky = caption(_night_sky((20, 30, 80), (80, 60, 120), 40.0), text)
    block = caption(Image.new("RGB", (width, width * 6 // 5), (120, 60, 150)), text)
    ours, theirs = fingerprint(encode(sky)), fingerprint(encode(block))
    assert ours.local is not None and theirs.local is not None
    found = examine(ours.local, theirs.local)
    assert found is not None and found.on_captions
    assert found.dense_distance is not None and found.dense_distance <= MAX_DENSE_DISTANCE
    assert not judge_pair(ours, theirs).repost
    assert not judge_pair(theirs, ours).repost
    # The same meme posted again, smaller, is a repost.
    again = fingerprint(encode(sky.resize((sky.width * 3 // 4, sky.height * 3 // 4))))
    assert judge_pair(again, ours).repost
    assert judge_pair(ours, again).repost


def test_text_over_a_faded_picture_leaves_it_keypoints() -> None:
    # White outlined words over the top and bottom of a faded photo outscore every corner of
    # the photo: without keypoints of its own for the middle band, the query has none there.
    from bench.quality.corpus import apply_transform
    from bot.local.features import MIDDLE_BAND
    from bot.matching import judge_pair

    faded = ImageEnhance.Contrast(photo("chelsea.jpg").convert("RGB")).enhance(0.15)
    data, _ = apply_transform(faded, "caption_overlay", "chelsea.jpg")
    ours, theirs = fingerprint(data), fingerprint(encode(faded))
    assert ours.local is not None
    y = ours.local.points[:, 1] / ours.local.height
    assert np.count_nonzero((y > MIDDLE_BAND[0]) & (y < MIDDLE_BAND[1])) >= 40
    verdict = judge_pair(ours, theirs)
    assert verdict.repost and verdict.local is not None
    assert judge_pair(theirs, ours).repost


def test_a_watermark_on_a_code_screenshot_is_a_repost() -> None:
    # A code editor's plain bands pass for caption bars, and the fit's inliers lie in them;
    # neither picture is blank, so the verdict is the usual one: the stamp moves the whole
    # overlap's hash (44 bits) and the middle band's check decides.
    import random

    from bench.quality.corpus import _code_editor, _fit_max_side, _seed, apply_transform
    from bot.matching import judge_pair

    name = "synthetic-graphic--code-11"
    editor = _fit_max_side(_code_editor(random.Random(_seed(name))).convert("RGB"))
    original = fingerprint(encode(editor))
    stamped = fingerprint(apply_transform(editor, "watermark", name)[0])
    verdict = judge_pair(stamped, original)
    assert verdict.repost and verdict.local is not None


def _similarity(scale: float, degrees: float, shift: tuple[float, float]) -> np.ndarray:
    turn = np.radians(degrees)
    a, b = scale * np.cos(turn), scale * np.sin(turn)
    return np.array([[a, -b, shift[0]], [b, a, shift[1]]])


def _mapped(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return np.asarray(points @ matrix[:, :2].T + matrix[:, 2], dtype=np.float32)


def test_a_cluster_of_repeated_keypoints_does_not_hide_the_fit() -> None:
    # 40 query keypoints all matched onto one stored spot (one corner repeated across the
    # pyramid levels) outnumber the 25 true matches; such a fit shrinks the query to a point
    # and is no repost: the true fit must still be found, the first.
    from bot.local.verify import REPROJECTION, _fits

    rng = np.random.default_rng(7)
    true = _similarity(0.6, 0.0, (96.0, 54.0))
    src_true = rng.uniform(0, 480, (25, 2)).astype(np.float32)
    dst_true = _mapped(src_true, true) + rng.normal(0, 0.5, (25, 2)).astype(np.float32)
    src_cluster = rng.uniform(0, 480, (40, 2)).astype(np.float32)
    dst_cluster = np.float32([150, 117]) + rng.normal(0, 1, (40, 2)).astype(np.float32)
    src = np.concatenate([src_cluster, src_true])
    dst = np.concatenate([dst_cluster, dst_true])
    matrix, inliers = next(_fits(src, dst, REPROJECTION * 480))
    assert np.abs(matrix - true).max() < 0.5
    assert inliers[40:].all() and not inliers[:40].any()


def test_fits_after_the_first_put_the_matches_elsewhere() -> None:
    # A repeating picture: 30 matches line up a shifted copy of the pattern, 20 the real
    # place. Both are offered, the larger first, and never the same place twice.
    from bot.local.verify import ALIGNMENTS, REPROJECTION, _fits

    rng = np.random.default_rng(5)
    shifted = _similarity(0.78, 0.0, (70.0, 40.0))
    real = _similarity(0.6, 0.0, (96.0, 72.0))
    src = rng.uniform(0, 480, (50, 2)).astype(np.float32)
    dst = np.concatenate([_mapped(src[:30], shifted), _mapped(src[30:], real)])
    found = [matrix for matrix, _ in _fits(src, dst, REPROJECTION * 480)]
    assert 2 <= len(found) <= ALIGNMENTS
    assert np.abs(found[0] - shifted).max() < 0.5
    assert np.abs(found[1] - real).max() < 0.5


def test_a_fit_most_matches_agree_on_comes_first_and_the_others_after_it() -> None:
    # 56 of 70 matches agree (OpenCV's fit, taken without sampling), 14 line up a shifted
    # copy: the sampled models are scored for the second fit, never at the first's place.
    from bot.local.verify import REPROJECTION, _fits

    rng = np.random.default_rng(11)
    real = _similarity(0.8, 3.0, (40.0, 30.0))
    shifted = _similarity(0.8, 3.0, (160.0, 90.0))
    src = rng.uniform(0, 480, (70, 2)).astype(np.float32)
    dst = np.concatenate([_mapped(src[:56], real), _mapped(src[56:], shifted)])
    dst += rng.normal(0, 0.3, dst.shape).astype(np.float32)
    fits = list(_fits(src, dst, REPROJECTION * 480))
    assert len(fits) == 2
    (first, first_inliers), (second, second_inliers) = fits
    assert np.abs(first - real).max() < 0.5 and first_inliers[:56].all()
    assert not first_inliers[56:].any()
    assert np.abs(second - shifted).max() < 0.5 and second_inliers[56:].all()


def test_a_centre_crop_of_a_code_screenshot_is_a_repost() -> None:
    # Lines of code repeat the same glyphs: the keypoints of one word match another word's,
    # and a fit on them shrinks the whole crop onto a spot of the editor.
    import random

    from bench.quality.corpus import _code_editor, _fit_max_side, _seed, apply_transform
    from bot.matching import judge_pair

    name = "synthetic-graphic--code-01"
    editor = _fit_max_side(_code_editor(random.Random(_seed(name))).convert("RGB"))
    original = fingerprint(encode(editor))
    cropped = fingerprint(apply_transform(editor, "crop_center_20", name)[0])
    verdict = judge_pair(cropped, original)
    assert verdict.repost and verdict.local is not None
    assert "cropped" in verdict.local.edit


def test_screenshots_of_two_blank_pictures_in_one_window_are_no_pair() -> None:
    # One window layout around a near-black pane and around a flat block: a later fit,
    # pinned on the title bar, lines up two flat middles whose band hashes agree. Only the
    # whole overlap may decide such a fit.
    import random

    from bench.quality.corpus import _blank, _fit_max_side, _seed, apply_transform
    from bot.matching import judge_pair

    shots = []
    for name, family, index in (
        ("synthetic-blank--dark-02", "dark", 2),
        ("synthetic-blank--solid-05", "solid", 5),
    ):
        picture = _fit_max_side(_blank(family, index, random.Random(_seed(name))).convert("RGB"))
        shots.append(fingerprint(apply_transform(picture, "canvas", name)[0]))
    assert not judge_pair(shots[0], shots[1]).repost
    assert not judge_pair(shots[1], shots[0]).repost


def _dark(name: str, factor: float) -> Image.Image:
    picture = Image.open(DATA / name).convert("RGB").resize((640, 420))
    return ImageEnhance.Brightness(picture.filter(ImageFilter.GaussianBlur(2))).enhance(factor)


def test_a_whole_image_match_on_two_caption_bars_alone_is_refused() -> None:
    # Two dark pictures under caption bars: when their whole-image hashes come together the
    # bars are what they share. The local stage lines up nothing and the pictures under the
    # bars are far apart: no repost. The same meme smaller, or two near-blank pictures (left
    # to the colour rule), keep a global match.
    from bot.matching import bars_alone

    whole = Verdict(distance=14, distance64=6, orientation=0, repost=True, reason="")
    coffee = caption(_dark("coffee.jpg", 0.08), "WHEN THE BOT FINALLY WORKS", 0.45)
    rocket = caption(_dark("rocket.jpg", 0.08), "NOBODY: ABSOLUTELY NOBODY", 0.45)
    ours, theirs = local_of(coffee), local_of(rocket)
    assert judge_local(ours, theirs) is None
    assert bars_alone(whole, ours, theirs, None) and bars_alone(whole, theirs, ours, None)
    smaller = local_of(coffee.resize((coffee.width * 3 // 4, coffee.height * 3 // 4)))
    assert not bars_alone(whole, smaller, ours, None)
    # A match through a view (the caption removed) is about the pictures already.
    assert not bars_alone(replace(whole, view="captioned"), ours, theirs, None)
    # A near-blank meme posted again smaller keeps its match.
    rng = np.random.default_rng(1)
    cells = rng.integers(15, 45, (3, 4, 3)).astype(np.uint8)
    smooth = Image.fromarray(cells).resize((640, 480), Image.Resampling.BICUBIC)
    meme = caption(smooth.filter(ImageFilter.GaussianBlur(30)), "WHEN THE BOT FINALLY WORKS")
    again = meme.resize((meme.width * 3 // 4, meme.height * 3 // 4))
    assert not bars_alone(whole, local_of(again), local_of(meme), None)


def _synthetic(name: str) -> Image.Image:
    """A synthetic original of the quality corpus, drawn again from its name."""
    import random

    from bench.quality.corpus import _GRAPHIC_GENERATORS, _blank, _fit_max_side, _seed

    family, index = name.split("--")[1].rsplit("-", 1)
    rng = random.Random(_seed(name))
    if name.startswith("synthetic-blank--"):
        return _fit_max_side(_blank(family, int(index), rng).convert("RGB"))
    draw = {f: g for f, g, _ in _GRAPHIC_GENERATORS}[family]
    return _fit_max_side(draw(rng).convert("RGB"))


def _in_chat(name: str) -> bytes:
    from bench.quality.corpus import apply_transform

    return apply_transform(_synthetic(name), "canvas_chat", name)[0]


def test_two_chat_screenshots_lined_up_on_their_windows_need_their_pictures_to_agree() -> None:
    # A blank page and a faint line chart, each posted in one chat layout: the fit lines up
    # the glyphs of the messages around them and the middle band of the overlap agrees. Two
    # settings pages in that layout: their whole-image hashes come within 28 bits. Neither is
    # a repost: the inner pictures, lined up by the windows, differ.
    from bot.matching import judge_pair

    for first, second in (
        ("synthetic-blank--page-04", "synthetic-graphic--line-chart-06"),
        ("synthetic-graphic--settings-03", "synthetic-graphic--settings-09"),
    ):
        a, b = fingerprint(_in_chat(first)), fingerprint(_in_chat(second))
        assert not judge_pair(a, b).repost
        assert not judge_pair(b, a).repost
    # The same screenshot posted again smaller is one.
    shot = decode(_in_chat("synthetic-graphic--settings-03"))
    smaller = encode(shot.resize((shot.width * 3 // 4, shot.height * 3 // 4)), "JPEG")
    assert judge_pair(fingerprint(smaller), fingerprint(encode(shot, "PNG"))).repost


def _star_cluster(seed: int) -> Image.Image:
    """A dark sky with stars crowding to a bright centre, as a globular cluster."""
    rng = np.random.default_rng(seed)
    sky = np.zeros((480, 512), dtype=np.float64)
    ys = np.clip(rng.normal(240, 60, 20000), 0, 479).astype(int)
    xs = np.clip(rng.normal(256, 60, 20000), 0, 511).astype(int)
    sky[ys, xs] = rng.uniform(80, 255, 20000)
    glow = Image.fromarray(sky.astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7))
    return glow.convert("RGB")


def test_one_caption_over_two_pictures_lined_up_on_the_caption_is_no_repost() -> None:
    # The same words over two star clusters: the fit lines up the captions, and the
    # clusters agree in the whole overlap as two dark skies with a bright middle do. The
    # pictures under the bars decide: different pictures, no repost; the same meme smaller
    # is one.
    words = "ME EXPLAINING THE JOKE"
    first = caption(_star_cluster(1), words, 0.4)
    second = caption(_star_cluster(2), words, 0.4)
    assert judge_local(local_of(first), local_of(second)) is None
    assert judge_local(local_of(second), local_of(first)) is None
    smaller = first.resize((first.width * 3 // 4, first.height * 3 // 4))
    found = judge_local(local_of(smaller), local_of(first))
    assert found is not None and not found.template


def test_pictures_under_caption_bars_that_change_along_one_axis_are_not_compared() -> None:
    # Vertical stripes under a caption bar: the picture changes across only, so the hash
    # bits of its rows are noise (one such meme came 108-116 bits from itself made smaller)
    # and neither caption-bar check may compare the pictures. A photo is compared.
    from bot.local.verify import align, pictures_apart, template_distance

    rng = np.random.default_rng(7)
    colours = rng.integers(20, 235, (1, 60, 3)).astype(np.uint8)
    stripes = Image.fromarray(colours).resize((600, 540), Image.Resampling.NEAREST)
    for picture, comparable in ((stripes, False), (photo("coffee.jpg").resize((600, 540)), True)):
        meme = caption(picture, "WHEN SOMEONE REPOSTS YOUR MEME", 0.18)
        smaller = meme.resize((meme.width * 7 // 10, meme.height * 7 // 10))
        ours, theirs = local_of(smaller), local_of(meme)
        fit = align(ours, theirs)
        assert fit is not None
        assert template_distance(ours, theirs, fit.matrix) is not None
        decided = template_distance(ours, theirs, fit.matrix, decisive=True)
        assert (decided is not None) == comparable
        assert (pictures_apart(ours, theirs) is not None) == comparable

"""The repost decision (bot/matching.py), case by case on hashes made to a known distance."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.guild_settings import GuildSettings
from bot.hashing import Fingerprint, View, fingerprint
from bot.matching import (
    PRESETS,
    VIEW_MARGIN,
    VIEW_MIN_QUALITY,
    Match,
    PostContext,
    Thresholds,
    alert_worthy,
    author_exempt,
    chronological,
    is_allowlisted,
    is_rejected,
    judge,
    query_hashes,
    similarity,
    thresholds_for,
    verify,
)
from bot.records import DAY_MS, AllowedImage, ImageRecord
from tests.support import DATA, VARIANTS, encode, grey_bar_on_white, photo, striped_wallpaper

STORED64 = 0x0123_4567_89AB_CDEF
#: Half its bits set, in every byte: as a real hash (see bot.hashing.decisive), and flipping
#: its lowest bits keeps it so.
STORED256 = bytes([0x5A] * 32)
NORMAL = PRESETS["normal"]
#: The widest rule an expert can set: a hash with too few bits set could come this close.
WIDEST = Thresholds(radius64=20, max256=64, min_quality=8)


def near64(bits: int) -> int:
    """STORED64 with its ``bits`` lowest bits flipped: at that Hamming distance."""
    return STORED64 ^ ((1 << bits) - 1)


def near256(bits: int) -> bytes:
    """STORED256 at Hamming distance ``bits``."""
    value = int.from_bytes(STORED256, "big") ^ ((1 << bits) - 1)
    return value.to_bytes(32, "big")


def tied(bits: int) -> bytes:
    """STORED256 with ``bits`` of its set bits cleared: at that distance, with fewer bits set
    than a hash its picture decides (as when many DCT coefficients tie at the median)."""
    value = int.from_bytes(STORED256, "big")
    for _ in range(bits):
        value &= value - 1  # clear the lowest set bit
    return value.to_bytes(32, "big")


def oriented(
    d64: int, d256: int, orientation: int, h256: bytes | None = None
) -> tuple[tuple[int, ...], tuple[bytes, ...]]:
    """8 orientations, all far (distance 64 / 256) from the stored hashes but one."""
    far64, far256 = near64(64), near256(256)
    hashes64 = [far64] * 8
    hashes256 = [far256] * 8
    hashes64[orientation] = near64(d64)
    hashes256[orientation] = near256(d256) if h256 is None else h256
    return tuple(hashes64), tuple(hashes256)


def query(
    d64: int = 0,
    d256: int = 0,
    *,
    quality: int = 50,
    orientation: int = 0,
    views: tuple[View, ...] = (),
    size: tuple[int, int] = (640, 480),
    h256: bytes | None = None,
) -> Fingerprint:
    h64, hashes256 = oriented(d64, d256, orientation, h256)
    return Fingerprint(h64[0], hashes256[0], quality, size[0], size[1], h64, hashes256, views)


def view(name: str, d64: int, d256: int, quality: int = 60, h256: bytes | None = None) -> View:
    h64, hashes256 = oriented(d64, d256, 0, h256)
    return View(name, h64, hashes256, quality)


@dataclass(frozen=True)
class Stored:
    phash64: int = STORED64
    phash256: bytes = STORED256
    quality: int = 50
    colour: bytes | None = None


# name, query, stored image (or its quality), rule,
# expected (repost, reason, distance, orientation, view)
JUDGE_CASES = [
    ("identical", query(), 50, NORMAL, (True, "", 0, 0, "")),
    ("256-bit distance at the limit", query(5, 29), 50, NORMAL, (True, "", 29, 0, "")),
    ("one bit past the limit", query(5, 30), 50, NORMAL, (False, "distance", 30, 0, "")),
    ("64-bit distance at the radius", query(11, 10), 50, NORMAL, (True, "", 10, 0, "")),
    ("64-bit distance past the radius", query(12, 10), 50, NORMAL, (False, "distance", 10, 0, "")),
    ("mirrored", query(2, 3, orientation=1), 50, NORMAL, (True, "", 3, 1, "")),
    (
        "a low-detail query at the 64-bit limit",
        query(8, 10, quality=39),
        50,
        NORMAL,
        (True, "", 10, 0, ""),
    ),
    (
        "a low-detail query one bit past it",
        query(9, 10, quality=39),
        50,
        NORMAL,
        (False, "distance", 10, 0, ""),
    ),
    (
        "a low-detail stored image one bit past it",
        query(9, 10),
        39,
        NORMAL,
        (False, "distance", 10, 0, ""),
    ),
    (
        "detail enough for the full radius",
        query(11, 10, quality=40),
        40,
        NORMAL,
        (True, "", 10, 0, ""),
    ),
    (
        "a detailed view of a low-detail query takes the full radius",
        query(40, 120, quality=10, views=(view("screenshot of an image", 11, 5),)),
        50,
        NORMAL,
        (True, "", 5, 0, "screenshot of an image"),
    ),
    ("rotated 90", query(0, 0, orientation=5), 50, NORMAL, (True, "", 0, 5, "")),
    ("stored image below the gate", query(), 7, NORMAL, (False, "low quality", 0, 0, "")),
    ("query below the gate", query(quality=7), 50, NORMAL, (False, "low quality", 0, 0, "")),
    ("both exactly at the gate", query(quality=8), 8, NORMAL, (True, "", 0, 0, "")),
    ("strict refuses 23", query(3, 23), 50, PRESETS["strict"], (False, "distance", 23, 0, "")),
    (
        "strict gate is 12",
        query(quality=11),
        50,
        PRESETS["strict"],
        (False, "low quality", 0, 0, ""),
    ),
    ("loose takes 34", query(12, 34), 50, PRESETS["loose"], (True, "", 34, 0, "")),
    ("loose refuses 35", query(12, 35), 50, PRESETS["loose"], (False, "distance", 35, 0, "")),
    (
        "a caption view within the stricter limit",
        query(40, 120, views=(view("captioned", 3, 29 - VIEW_MARGIN),)),
        50,
        NORMAL,
        (True, "", 29 - VIEW_MARGIN, 0, "captioned"),
    ),
    (
        "a view one bit past its stricter limit",
        query(40, 120, views=(view("captioned", 3, 30 - VIEW_MARGIN),)),
        50,
        NORMAL,
        (False, "distance", 120, 0, ""),
    ),
    (
        "a view with too little detail",
        query(40, 120, views=(view("captioned", 0, 0, VIEW_MIN_QUALITY - 1),)),
        50,
        NORMAL,
        (False, "distance", 120, 0, ""),
    ),
    (
        "a near-blank query whose inner picture matches",
        query(0, 0, quality=3, views=(view("screenshot of an image", 2, 5),)),
        50,
        NORMAL,
        (True, "", 5, 0, "screenshot of an image"),
    ),
    (
        "the whole image wins over a view",
        query(1, 2, views=(view("captioned", 0, 0),)),
        50,
        NORMAL,
        (True, "", 2, 0, ""),
    ),
    ("38 bits off, under the widest rule", query(5, 38), 50, WIDEST, (True, "", 38, 0, "")),
    (
        "38 bits off a query hash its picture does not decide",
        query(5, h256=tied(38)),
        50,
        WIDEST,
        (False, "low quality", 38, 0, ""),
    ),
    (
        "38 bits off a stored hash its picture does not decide",
        query(5),
        Stored(phash256=tied(38)),
        WIDEST,
        (False, "low quality", 38, 0, ""),
    ),
    (
        "a view 38 bits off, under the widest rule",
        query(40, 120, views=(view("captioned", 3, 38),)),
        50,
        WIDEST,
        (True, "", 38, 0, "captioned"),
    ),
    (
        "a view whose hash its picture does not decide",
        query(40, 120, views=(view("captioned", 3, 0, h256=tied(38)),)),
        50,
        WIDEST,
        (False, "distance", 120, 0, ""),
    ),
    (
        "no view rescues a low-quality stored image",
        query(40, 120, views=(view("captioned", 0, 0),)),
        3,
        NORMAL,
        (False, "low quality", 120, 0, ""),
    ),
]


@pytest.mark.parametrize(
    ("fp", "stored", "rule", "expected"),
    [case[1:] for case in JUDGE_CASES],
    ids=[case[0] for case in JUDGE_CASES],
)
def test_judge(
    fp: Fingerprint,
    stored: int | Stored,
    rule: Thresholds,
    expected: tuple[bool, str, int, int, str],
) -> None:
    """``stored`` is the stored image, or only its quality."""
    verdict = judge(fp, stored if isinstance(stored, Stored) else Stored(quality=stored), rule)
    got = (verdict.repost, verdict.reason, verdict.distance, verdict.orientation, verdict.view)
    assert got == expected


def test_a_bar_on_a_plain_canvas_is_no_repost_of_a_striped_wallpaper() -> None:
    """Real pictures, decoded by Pillow, whose hashes are 3 bits apart by their ties alone."""
    bar = fingerprint(encode(grey_bar_on_white(), "JPEG"))
    stripes = fingerprint(encode(striped_wallpaper(), "PNG"))
    for rule in PRESETS.values():
        assert not judge(bar, stripes, rule).repost
        assert not judge(stripes, bar, rule).repost
    # What still matches: a photograph and its half-size copy, under every preset.
    original = fingerprint((DATA / "chelsea.jpg").read_bytes())
    half = fingerprint(VARIANTS["half size"](photo("chelsea.jpg")))
    for rule in PRESETS.values():
        assert judge(half, original, rule).repost


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (GuildSettings(), NORMAL),
        (GuildSettings(sensitivity="strict"), PRESETS["strict"]),
        (GuildSettings(sensitivity="loose"), PRESETS["loose"]),
        # An expert threshold keeps the preset's gate and widens the search to reach it.
        (GuildSettings(threshold=20), Thresholds(radius64=11, max256=20, min_quality=8)),
        (GuildSettings(threshold=40), Thresholds(radius64=14, max256=40, min_quality=8)),
        (GuildSettings(threshold=64), Thresholds(radius64=20, max256=64, min_quality=8)),
        (GuildSettings(threshold=0), Thresholds(radius64=11, max256=0, min_quality=8)),
        (
            GuildSettings(sensitivity="loose", threshold=10),
            Thresholds(radius64=12, max256=10, min_quality=5),
        ),
    ],
)
def test_thresholds_for(settings: GuildSettings, expected: Thresholds) -> None:
    assert thresholds_for(settings) == expected


@pytest.mark.parametrize(
    ("distance", "percent"), [(0, 100.0), (29, 88.7), (64, 75.0), (128, 50.0), (256, 0.0)]
)
def test_similarity(distance: int, percent: float) -> None:
    assert similarity(distance) == percent


def test_query_hashes_are_the_orientations_then_each_views() -> None:
    captioned = view("captioned", 1, 1)
    fp = query(views=(captioned,))
    assert query_hashes(fp) == fp.phash64_orientations + captioned.phash64_orientations
    assert len(query_hashes(query())) == 8


def image(
    image_id: int,
    *,
    channel: int = 10,
    message: int | None = None,
    author: int = 100,
    posted_at: int = 0,
    h256: bytes = STORED256,
) -> ImageRecord:
    message = image_id if message is None else message
    return ImageRecord(image_id, 1, channel, message, author, 0, posted_at, STORED64, h256, 50)


def test_verify_keeps_reposts_best_first_then_oldest() -> None:
    candidates = [
        image(1, posted_at=500, h256=near256(9)),
        image(2, posted_at=300, h256=near256(4)),
        image(3, posted_at=100, h256=near256(4)),
        image(4, posted_at=0, h256=near256(60)),  # too far: dropped
    ]
    kept = verify(query(), candidates, NORMAL)
    assert [(m.image.id, m.distance) for m in kept] == [(3, 4), (2, 4), (1, 9)]
    assert [m.image.id for m in chronological(kept)] == [3, 2, 1]


def match(img: ImageRecord) -> Match:
    return Match(img, judge(query(), img, NORMAL))


NOW = 100 * DAY_MS
POST = PostContext(guild_id=1, channel_id=10, message_id=999, author_id=100, posted_at=NOW)
MINE = image(1, author=100, posted_at=NOW - 50 * DAY_MS)
THEIRS = image(2, author=200, posted_at=NOW - 5 * DAY_MS)
ELSEWHERE = image(3, channel=11, author=200, posted_at=NOW - DAY_MS)
SAME_MESSAGE = image(4, message=999, author=100, posted_at=NOW)


@pytest.mark.parametrize(
    ("settings", "earlier", "kept"),
    [
        (GuildSettings(), [MINE, THEIRS, ELSEWHERE], [MINE, THEIRS, ELSEWHERE]),
        (GuildSettings(scope="channel"), [MINE, THEIRS, ELSEWHERE], [MINE, THEIRS]),
        (GuildSettings(max_age_days=10), [MINE, THEIRS, ELSEWHERE], [THEIRS, ELSEWHERE]),
        (GuildSettings(max_age_days=50), [MINE, THEIRS], [MINE, THEIRS]),
        # Only the author's own earlier posts: no alert, unless the guild asks for them.
        (GuildSettings(), [MINE], []),
        (GuildSettings(ignore_own_posts=False), [MINE], [MINE]),
        (GuildSettings(scope="channel", max_age_days=10), [MINE, ELSEWHERE], []),
        # Another image of the same message is never "earlier".
        (GuildSettings(ignore_own_posts=False), [SAME_MESSAGE, THEIRS], [THEIRS]),
    ],
)
def test_alert_worthy(
    settings: GuildSettings, earlier: list[ImageRecord], kept: list[ImageRecord]
) -> None:
    got = alert_worthy([match(i) for i in earlier], POST, settings)
    assert [m.image for m in got] == kept


@pytest.mark.parametrize(
    ("settings", "roles", "exempt"),
    [
        (GuildSettings(), frozenset({5}), False),
        (GuildSettings(exempt_users=frozenset({100})), frozenset(), True),
        (GuildSettings(exempt_users=frozenset({200})), frozenset(), False),
        (GuildSettings(exempt_roles=frozenset({5})), frozenset({5, 6}), True),
        (GuildSettings(exempt_roles=frozenset({7})), frozenset({5, 6}), False),
    ],
)
def test_author_exempt(settings: GuildSettings, roles: frozenset[int], exempt: bool) -> None:
    post = PostContext(1, 10, 999, 100, NOW, role_ids=roles)
    assert author_exempt(post, settings) is exempt


@pytest.mark.parametrize(
    ("allowed", "listed"),
    [
        ([], False),
        ([near256(29)], True),
        ([near256(30)], False),
        ([near256(200), near256(3)], True),
    ],
)
def test_is_allowlisted(allowed: list[bytes], listed: bool) -> None:
    entries = [AllowedImage(n, 1, STORED64, h, 100) for n, h in enumerate(allowed)]
    assert is_allowlisted(query(), entries, NORMAL) is listed


@pytest.mark.parametrize(
    ("rejected", "result"),
    [
        ([], False),
        ([(1, near256(10))], True),  # this image, a similar query: the moderator said no
        ([(2, near256(10))], False),  # another stored image
        ([(1, near256(60))], False),  # this image, but a different query
    ],
)
def test_is_rejected(rejected: list[tuple[int, bytes]], result: bool) -> None:
    assert is_rejected(query(), match(image(1)), rejected, NORMAL) is result

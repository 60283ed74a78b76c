"""The "is this a repost?" decision: thresholds, quality gate, filters and ranking."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from bot.guild_settings import GuildSettings
from bot.hashing import (
    HASH256_SIDE,
    ORIENTATION_NAMES,
    SMOOTH_QUALITY,
    Fingerprint,
    decisive,
    hamming64,
    min_oriented_distance,
)
from bot.local import LocalFeatures, LocalVerdict, judge_local, pictures_differ
from bot.local.tone import (
    blank_picture,
    blocks_differ,
    stripes_alike,
    stripes_profile,
    unpack_colour,
)
from bot.local.verify import inner_pictures_differ, pictures_apart
from bot.records import DAY_MS, AllowedImage, ImageRecord

HASH256_BITS = HASH256_SIDE * HASH256_SIDE
#: Stored images the local stage verifies per query: the local index's best candidates.
LOCAL_CANDIDATES = 20


@dataclass(frozen=True, slots=True)
class Thresholds:
    """One decision rule.

    ``radius64`` bounds the candidate search in the index (64-bit hash, any orientation),
    ``max256`` is the decision on the 256-bit hash, and images whose quality is below
    ``min_quality`` (near-blank, solid colour, tiny) never match anything.
    """

    radius64: int
    max256: int
    min_quality: int


#: Presets offered to admins, from the detection benchmark (README, "Presets"): on both
#: tuning sets of the corpus, every query against both sets' originals, the closest wrong
#: pair sits 38 bits away; strict keeps 16 bits from it, normal 9 and loose 4 (at 40 bits,
#: loose paired a dark nebula photograph with a dark space wallpaper 44 times).
PRESETS: dict[str, Thresholds] = {
    "strict": Thresholds(radius64=11, max256=22, min_quality=12),
    "normal": Thresholds(radius64=11, max256=29, min_quality=8),
    "loose": Thresholds(radius64=12, max256=34, min_quality=5),
}
DEFAULT = PRESETS["normal"]


def thresholds_for(settings: GuildSettings) -> Thresholds:
    """The rule a guild's settings ask for; an expert threshold overrides the preset's."""
    base = PRESETS[settings.sensitivity]
    if settings.threshold is None:
        return base
    radius = max(base.radius64, min(20, settings.threshold * 64 // HASH256_BITS + 4))
    return Thresholds(radius64=radius, max256=settings.threshold, min_quality=base.min_quality)


def delete_limit(settings: GuildSettings) -> int:
    """The largest 256-bit distance at which a repost is deleted, when deletion is on.

    Deletion is for near-identical copies: by default only what the strict level would call
    a repost; looser matches only get an alert.
    """
    if settings.delete_threshold is not None:
        return settings.delete_threshold
    return PRESETS["strict"].max256


class Hashes(Protocol):
    """Anything carrying the stored hashes of one image."""

    @property
    def phash64(self) -> int: ...

    @property
    def phash256(self) -> bytes: ...

    @property
    def quality(self) -> int: ...

    @property
    def colour(self) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a query image compares with one stored image."""

    distance: int
    distance64: int
    orientation: int
    repost: bool
    #: Why it is not a repost when it is not ("", "distance", "low quality").
    reason: str
    #: Which part of the query matched: "" for the whole image, else a view's name.
    view: str = ""
    #: For clips, how the query was made from the stored post: a key of
    #: ``bot.clips.EDIT_WORDS`` ("trimmed" for "a trimmed copy of"), "" for images.
    edit: str = ""
    #: Set when the local stage (keypoints, then a dense check) decided; ``distance`` is
    #: then the 256-bit distance of the aligned overlap.
    local: LocalVerdict | None = None

    @property
    def similarity(self) -> float:
        return similarity(self.distance)

    @property
    def template(self) -> bool:
        """The same picture under another caption: a new meme rather than a repost."""
        return self.local is not None and self.local.template

    @property
    def edit_parts(self) -> tuple[str, ...]:
        """What was done to the stored picture, as English phrases ("cropped", "captioned",
        "rotated by 4 degrees", "mirrored"...); empty for nothing notable."""
        if self.local is not None:
            if self.local.edit == "the same picture":
                return ()
            return tuple(self.local.edit.split(" and "))
        found = [VIEW_EDITS.get(self.view, self.view)] if self.view else []
        if self.orientation:
            found.append(ORIENTATION_NAMES[self.orientation])
        return tuple(found)

    @property
    def edit_text(self) -> str:
        """:attr:`edit_parts` in one English phrase ("" for nothing notable)."""
        return " and ".join(self.edit_parts)

    @property
    def orientation_name(self) -> str:
        return ORIENTATION_NAMES[self.orientation]


def query_hashes(query: Fingerprint) -> tuple[int, ...]:
    """The 64-bit hashes to look up in the index for a query: every candidate comes from one."""
    hashes = query.phash64_orientations
    for view in query.views:
        hashes += view.phash64_orientations
    return hashes


def similarity(distance: int) -> float:
    """256-bit distance -> similarity in percent (100 is identical, ~50 is unrelated)."""
    return round(100.0 * (1.0 - distance / HASH256_BITS), 1)


def judge(query: Fingerprint, stored: Hashes, rule: Thresholds = DEFAULT) -> Verdict:
    """Compare a query fingerprint with one stored image under a rule.

    The whole query is compared first; its views (caption removed, inner picture) may match
    too, under a stricter threshold since each view is one more chance of a false match.
    Images (and views) below the rule's quality never match, nor do hashes their pictures do
    not decide (:func:`bot.hashing.decisive`; fingerprints score those 0 already, images
    stored before that kept their score). Two low-detail images that are each one flat colour
    give or take a stamp match only when their colours agree (:func:`bot.local.tone.
    blocks_differ`): the stamp is all their grey hashes see.
    """
    best = _compare(
        query.phash64_orientations,
        query.phash256_orientations,
        stored,
        _for_detail(rule, query.quality, stored.quality),
        "",
    )
    if stripes(query, stored, rule):
        return replace(best, repost=True, reason="")
    if stored.quality < rule.min_quality or not decisive(stored.phash256):
        return replace(best, repost=False, reason="low quality")
    if best.repost and query.quality >= rule.min_quality and decisive(query.phash256):
        if min(query.quality, stored.quality) < LOW_DETAIL_QUALITY and blocks_differ(
            query.colour, stored.colour
        ):
            return replace(best, repost=False, reason=REFUTED)
        return best
    view_rule = Thresholds(rule.radius64, rule.max256 - VIEW_MARGIN, rule.min_quality)
    for view in query.views:
        if view.quality < max(rule.min_quality, VIEW_MIN_QUALITY) or not decisive(
            view.phash256_orientations[0]
        ):
            continue
        verdict = _compare(
            view.phash64_orientations,
            view.phash256_orientations,
            stored,
            _for_detail(view_rule, view.quality, stored.quality),
            view.name,
        )
        if verdict.repost:
            return verdict
    if query.quality < rule.min_quality or not decisive(query.phash256):
        return replace(best, repost=False, reason="low quality")
    return best


def stripes(query: Hashes, stored: Hashes, rule: Thresholds) -> bool:
    """Whether two pictures of stripes (their hashes decide nothing, see
    :func:`bot.hashing.decisive`) are one picture by their colour thumbnails'
    profiles (:func:`bot.local.tone.stripes_alike`); not under a rule that asks more detail
    of a picture than a smooth one has (the strict preset)."""
    return (
        _undecided(query, rule)
        and _undecided(stored, rule)
        and stripes_alike(query.colour, stored.colour)
    )


def _undecided(hashes: Hashes, rule: Thresholds) -> bool:
    """Whether an image's hash decides nothing, under a rule that lets :func:`stripes` judge."""
    return rule.min_quality <= SMOOTH_QUALITY and not decisive(hashes.phash256)


def searchable(query: Fingerprint, rule: Thresholds) -> bool:
    """Whether a picture is worth looking up under a rule: enough detail, or stripes that
    :func:`stripes` may match."""
    if query.quality >= rule.min_quality:
        return True
    colour = unpack_colour(query.colour)
    return _undecided(query, rule) and colour is not None and stripes_profile(colour) is not None


#: A pair in which either picture carries this little detail (a smooth gradient, fog, a dark
#: wallpaper) must also agree within :data:`LOW_DETAIL_RADIUS64` bits of the 64-bit hash. The
#: few low frequencies such a picture has are easily matched by another smooth picture with
#: something in the same place: two quadrants of one dark gradient wallpaper, each carrying
#: a watermark in its corner, came 24 bits apart on the 256-bit hash, 10 on the 64-bit one.
#: True matches of low-detail pictures sit within 8 bits of the 64-bit hash on the quality
#: bench's tuning sets (195 of them) and within 4 in both `bench.dupes` folders.
LOW_DETAIL_QUALITY = 40
LOW_DETAIL_RADIUS64 = 8


def _for_detail(rule: Thresholds, quality: int, other: int) -> Thresholds:
    """``rule`` for two pictures of these quality scores (see :data:`LOW_DETAIL_QUALITY`)."""
    if min(quality, other) >= LOW_DETAIL_QUALITY or rule.radius64 <= LOW_DETAIL_RADIUS64:
        return rule
    return replace(rule, radius64=LOW_DETAIL_RADIUS64)


#: Short words for a view's match, as the local stage words its edits.
VIEW_EDITS = {"captioned": "captioned", "screenshot of an image": "inside a screenshot"}

#: How much stricter the 256-bit threshold is for a view than for the whole image.
VIEW_MARGIN = 4
#: A view must carry at least this much detail: the plain part of a captioned blank image
#: (JPEG noise scores 5-16) must not stand for a picture.
VIEW_MIN_QUALITY = 30


def _compare(
    hashes64: Sequence[int],
    hashes256: Sequence[bytes],
    stored: Hashes,
    rule: Thresholds,
    view: str,
) -> Verdict:
    distance, orientation = min_oriented_distance(hashes256, stored.phash256)
    distance64 = min(hamming64(h, stored.phash64) for h in hashes64)
    repost = distance64 <= rule.radius64 and distance <= rule.max256
    return Verdict(distance, distance64, orientation, repost, "" if repost else "distance", view)


@dataclass(frozen=True, slots=True)
class Match:
    """A stored image that the query is a repost of."""

    image: ImageRecord
    verdict: Verdict

    @property
    def distance(self) -> int:
        return self.verdict.distance

    @property
    def similarity(self) -> float:
        return self.verdict.similarity


def verify(query: Fingerprint, candidates: Iterable[ImageRecord], rule: Thresholds) -> list[Match]:
    """Keep the candidates the rule calls reposts, best first (then oldest first)."""
    matches = []
    for image in candidates:
        verdict = judge(query, image, rule)
        if verdict.repost:
            matches.append(Match(image, verdict))
    matches.sort(key=lambda m: (m.distance, m.image.posted_at, m.image.id))
    return matches


def local_verdict(found: LocalVerdict) -> Verdict:
    """A local-stage verdict in the terms of the global one (distance of the aligned parts)."""
    return Verdict(
        distance=found.dense_distance,
        distance64=64,
        orientation=0,
        repost=found.repost,
        reason="" if found.repost else "template",
        local=found,
    )


def judge_pair(query: Fingerprint, stored: Fingerprint, rule: Thresholds = DEFAULT) -> Verdict:
    """Both stages on two fingerprints: the global hashes, then the local features.

    What the bot decides when ``stored`` was posted earlier and is the only candidate. A
    meme template (same picture, other caption) comes back with ``repost`` False and
    ``template`` True.
    """
    verdict = judge(query, stored, rule)
    if verdict.reason == "low quality" or query.local is None or stored.local is None:
        return verdict
    if refutable(verdict) and pictures_differ(query.local, stored.local):
        return replace(verdict, repost=False, reason=REFUTED)
    if verdict.repost and not has_caption(query):
        return verdict
    found = judge_local(query.local, stored.local)
    if verdict.repost:  # only a template can overrule the global stage
        if bars_alone(verdict, query.local, stored.local, found):
            return replace(verdict, repost=False, reason=REFUTED)
        return local_verdict(found) if found is not None and found.template else verdict
    return verdict if found is None else local_verdict(found)


#: Why a global match is no repost: the local stage lined the two images up and their
#: pictures differ. A watermark or a logo stamped on two smooth pictures (gradients, wood
#: grain) can bring their global hashes together: the stamp is most of what the low
#: frequencies of such a picture hold.
REFUTED = "pictures differ"


#: Least share of disagreeing firm hash bits between the pictures under two caption bars
#: (see :func:`bot.local.verify.pictures_apart`) that shows two pictures: unrelated pictures
#: disagree on 0.4-0.5 of them, one meme posted again on under 0.1.
BARS_PICTURES_APART = 0.25


def bars_alone(
    verdict: Verdict, query: LocalFeatures, stored: LocalFeatures, found: LocalVerdict | None
) -> bool:
    """Whether a global match rests on the frames of two pictures alone: it is on the whole
    images, unturned, the local stage lines up nothing, and either both are screenshots
    whose inner pictures, lined up by their windows, differ, or both carry a caption bar and
    the pictures under the bars are far apart. The bars of two smooth pictures, or the
    window around two small ones, are most of what their hashes hold. Two near-blank
    pictures are left to the colour rule: their hashes are too unstable to tell them apart."""
    if found is not None or verdict.view != "" or verdict.orientation != 0:
        return False
    if blank_picture(query) and blank_picture(stored):
        return False
    if inner_pictures_differ(query, stored):
        return True
    apart = pictures_apart(query, stored)
    return apart is not None and apart > BARS_PICTURES_APART


def refutable(verdict: Verdict) -> bool:
    """Whether the local stage may refute this global match: one on the global hashes, with
    the query as it is (a mirrored or turned query has keypoints no fit lines up)."""
    return verdict.repost and verdict.local is None and verdict.orientation == 0


def refute(query: LocalFeatures, matches: Sequence[Match], blobs: dict[int, bytes]) -> list[Match]:
    """``matches`` without the global matches the local stage refutes (see
    :func:`bot.local.pictures_differ`); CPU-bound, run in a thread. Only the matches of
    :func:`refute_checked` are judged; the others stay."""
    refuted = set()
    for match in refute_checked(matches):
        stored = stored_features(blobs.get(match.image.id))
        if stored is not None and pictures_differ(query, stored):
            refuted.add(match.image.id)
    return [m for m in matches if m.image.id not in refuted]


#: At most this many global matches are judged by :func:`refute`, best first: each costs a
#: fit (3-5 ms), and a picture posted again and again has many.
REFUTE_CHECKS = 2


def refute_checked(matches: Sequence[Match]) -> list[Match]:
    """The global matches :func:`refute` judges: the best :data:`REFUTE_CHECKS` of those it
    may refute."""
    return _by_closeness([m for m in matches if refutable(m.verdict)])[:REFUTE_CHECKS]


def stored_features(blob: bytes | None) -> LocalFeatures | None:
    """A stored image's local features; None when it has none or its blob is damaged (that
    image stays with the global stage)."""
    if blob is None:
        return None
    try:
        return LocalFeatures.from_bytes(blob)
    except ValueError:
        return None


def has_caption(query: Fingerprint) -> bool:
    """Whether the query carries a caption bar: its global matches may be meme templates."""
    return query.local is not None and any(v.name == "captioned" for v in query.views)


#: At most this many global matches of a captioned query are judged for a template, best
#: first: a picture posted again and again under new captions must not cost a check each.
TEMPLATE_CHECKS = 8


def template_checked(matches: Sequence[Match]) -> list[Match]:
    """The global matches a template check judges: the best :data:`TEMPLATE_CHECKS`."""
    return _by_closeness(matches)[:TEMPLATE_CHECKS]


def _by_closeness(matches: Sequence[Match]) -> list[Match]:
    return sorted(matches, key=lambda m: (m.distance, m.image.posted_at, m.image.id))


def mark_templates(
    query: LocalFeatures, matches: Sequence[Match], blobs: dict[int, bytes]
) -> list[Match]:
    """Global matches of a captioned query, with those the local stage calls a meme template
    (the same picture under another caption) marked so; CPU-bound, run in a thread.

    Only the best :data:`TEMPLATE_CHECKS` are judged. The others follow them: kept as
    reposts when any judged match is a repost, left out when every judged one is a template
    (the same picture under yet another caption, most likely).
    """
    ordered = _by_closeness(matches)
    marked = []
    for match in ordered[:TEMPLATE_CHECKS]:
        stored = stored_features(blobs.get(match.image.id))
        found = None if stored is None else judge_local(query, stored)
        if stored is not None and bars_alone(match.verdict, query, stored, found):
            continue
        marked.append(
            Match(match.image, local_verdict(found))
            if found is not None and found.template
            else match
        )
    rest = ordered[TEMPLATE_CHECKS:]
    if rest and any(not m.verdict.template for m in marked):
        marked += rest
    by_image = {m.image.id: m for m in marked}  # in the caller's order again
    return [by_image[m.image.id] for m in matches if m.image.id in by_image]


def verify_local(
    query: LocalFeatures, candidates: Iterable[tuple[ImageRecord, bytes]]
) -> list[Match]:
    """Judge candidates on stored local features; reposts best first, then templates.

    CPU-bound (a millisecond or so per candidate): the service runs it in a thread.
    """
    matches = []
    for image, blob in candidates:
        stored = stored_features(blob)
        if stored is None:
            continue
        found = judge_local(query, stored)
        if found is not None:
            matches.append(Match(image, local_verdict(found)))
    matches.sort(key=lambda m: (m.verdict.template, m.distance, m.image.posted_at, m.image.id))
    return matches


def is_allowlisted(query: Fingerprint, allowed: Sequence[AllowedImage], rule: Thresholds) -> bool:
    """Whether the image is one the guild allows to be posted again."""
    return any(
        min_oriented_distance(query.phash256_orientations, a.phash256)[0] <= rule.max256
        for a in allowed
    )


def is_rejected(
    query: Fingerprint, match: Match, rejected: Sequence[tuple[int, bytes]], rule: Thresholds
) -> bool:
    """Whether a moderator said images like ``query`` are not reposts of the matched image."""
    return any(
        image_id == match.image.id
        and min_oriented_distance(query.phash256_orientations, phash)[0] <= rule.max256
        for image_id, phash in rejected
    )


@dataclass(frozen=True, slots=True)
class PostContext:
    """Who posted a new image, where and when: what alert filters look at."""

    guild_id: int
    channel_id: int
    message_id: int
    author_id: int
    posted_at: int
    role_ids: frozenset[int] = frozenset()


def alert_worthy(
    matches: Sequence[Match], post: PostContext, settings: GuildSettings
) -> list[Match]:
    """The matches an alert should show, under the guild's scope, age and ownership rules."""
    kept = [
        m
        for m in matches
        if m.image.message_id != post.message_id
        and (settings.scope == "guild" or m.image.channel_id == post.channel_id)
        and (
            settings.max_age_days is None
            or post.posted_at - m.image.posted_at <= settings.max_age_days * DAY_MS
        )
    ]
    if settings.ignore_own_posts and all(m.image.author_id == post.author_id for m in kept):
        return []
    return kept


def author_exempt(post: PostContext, settings: GuildSettings) -> bool:
    """Whether the poster is never alerted (exempt user or role)."""
    return post.author_id in settings.exempt_users or bool(post.role_ids & settings.exempt_roles)


def chronological(matches: Sequence[Match]) -> list[Match]:
    """Earliest post first: the first is the original."""
    return sorted(matches, key=lambda m: (m.image.posted_at, m.image.message_id, m.image.slot))

"""The local stage of detection: crops, small rotations, captions and screenshots.

The global DCT hashes (:mod:`bot.hashing`, :mod:`bot.matching`) see an image as a whole;
cut 5% off or add a caption bar and they move by dozens of bits. This package matches
*keypoints* instead. It is pure: no I/O, no Discord, no database.

The contract with the rest of seenit:

``extract_local(image) -> LocalFeatures | None``
    Computed in the hashing workers from the small image :func:`bot.hashing.fingerprint`
    already decoded (``Fingerprint.local``). None for low-texture images (fewer than
    :data:`~bot.local.features.MIN_KEYPOINTS` keypoints): the global stage judges those alone.

``LocalFeatures``
    Frozen. ``to_bytes()`` / ``LocalFeatures.from_bytes(blob)``: the compact blob the store
    keeps per image and reads only for candidates (keypoints, ORB descriptors, words, a JPEG
    thumbnail for the dense check, the caption / inner-picture regions); about 15 KB.
    ``words``: the short word list (bytes, at most a few hundred) that the store keeps in a
    column of its own and hands to :class:`LocalIndex` when a guild's index is loaded, so that
    loading never reads the blob.

``LocalIndex``
    Per guild, in memory: ``add(image_id, words)``, ``remove(image_id)``, ``load(pairs)``,
    ``len()``, ``query(local, top=20) -> list[int]`` (candidate ids, best first; the query's
    regions are searched too).

``judge_local(query, stored) -> LocalVerdict | None``
    Geometric verification plus a dense check of the aligned overlap. None: not a repost.
    A verdict carries ``inliers``, ``dense_distance``, ``rotation`` (degrees), ``scale``,
    ``edit`` (plain words: "cropped", "rotated by 5 degrees", "captioned", "inside a
    screenshot", ...) and ``template``: the same picture under a different caption, a new
    meme rather than a repost (alert only if the guild asks for it).

The intended flow for a new image: the global stage first; when it finds nothing,
``index.query(fp.local)`` and ``judge_local`` on each candidate's stored blob, best verdict
first (most inliers). Global matches may be passed through ``judge_local`` too, to learn
whether they are a different caption on the same picture (``template``), and through
``pictures_differ(query, stored)``: a fit lining up pictures that do not agree refutes a
global match (a watermark shared by two smooth pictures).

The vocabulary (``vocabulary.npz``, package data) is trained by ``bench/local_vocabulary.py``.
"""

from bot.local.features import MIN_KEYPOINTS, FeaturesError, LocalFeatures, extract_local
from bot.local.index import LocalIndex
from bot.local.verify import LocalVerdict, judge_local, pictures_differ

__all__ = [
    "MIN_KEYPOINTS",
    "FeaturesError",
    "LocalFeatures",
    "LocalIndex",
    "LocalVerdict",
    "extract_local",
    "judge_local",
    "pictures_differ",
]

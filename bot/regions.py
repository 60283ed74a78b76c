"""Where the original may sit inside a repost: caption bars and screenshots of an image.

A global hash sees a captioned meme or a screenshot of a picture as a different image. These
functions find the part of a query image that is likely the reposted picture, so it can be
hashed on its own: a *view*. They only look at the query; stored images keep one fingerprint.

Everything works on the small decoded image and is pure numpy: a few hundred microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import ndimage

#: Two pixels this close (0-255, per channel) count as the same background colour.
BACKGROUND_TOLERANCE = 24
#: A row this full of background colour belongs to a caption bar (text covers the rest).
BAR_ROW_BACKGROUND = 0.25
#: A row this full of background colour is a plain margin.
MARGIN_ROW_BACKGROUND = 0.97
#: A caption bar covers between these shares of the height.
BAR_MIN, BAR_MAX = 0.06, 0.45
#: An inner picture covers between these shares of the canvas.
INNER_MIN, INNER_MAX = 0.12, 0.9
#: A row holds content when more than this share of it differs from the background.
BAND_ROW_CONTENT = 0.01
#: A picture band is at least this many times taller than the next tallest run of content
#: rows (a line of text)...
BAND_TALLER = 2.5
#: ...and the rows outside it are at least this share background (a feed of text).
BAND_OUTSIDE_BACKGROUND = 0.8
#: Fewest other runs of content rows (status bar, name, text lines) around a picture band.
BAND_OTHER_RUNS = 2


@dataclass(frozen=True, slots=True)
class Box:
    """A region of an image: left, top, right, bottom in pixels (right/bottom exclusive)."""

    left: int
    top: int
    right: int
    bottom: int

    def crop(self, image: Image.Image) -> Image.Image:
        return image.crop((self.left, self.top, self.right, self.bottom))


def candidate_views(image: Image.Image) -> list[tuple[str, Box]]:
    """Named regions of ``image`` that may hold a reposted picture on their own."""
    rgb = np.asarray(image.convert("RGB"))  # uint8, no copy: slices are widened as needed
    views: list[tuple[str, Box]] = []
    views.extend(("captioned", box) for box in caption_removed(rgb))
    inner = inner_picture(rgb)
    if inner is None:
        inner = picture_band(rgb)
    if inner is not None and all(inner != box for _, box in views):
        views.append((SCREENSHOT_VIEW, inner))
    return views


#: The name of the view that is the picture inside a screenshot.
SCREENSHOT_VIEW = "screenshot of an image"


def hashed_views(views: list[tuple[str, Box]], size: tuple[int, int]) -> list[tuple[str, Box]]:
    """The regions to hash as views: ``views`` (:func:`candidate_views`), and the picture of a
    screenshot once more with one more pixel on each side.

    :func:`inner_picture` leaves out the outermost pixel, where a frame or shadow line is
    often drawn; but views are hashed on the small decoded image, where a picture at half
    a chat window's width is some 60 pixels wide and that pixel 1.5% of it on each side: a
    picture pasted without a frame then comes 20-35 bits from itself, past a view's limit.
    Hashing both boxes keeps each case's best (on two held-out sets of the quality corpus,
    pictures in a chat window within a view's limit of their original: 190 of 224 with the
    inner box, 214 with the outer, 219 with both; their closest other original stays 34
    bits or more away).
    """
    width, height = size
    hashed = list(views)
    for name, box in views:
        if name != SCREENSHOT_VIEW:
            continue
        outer = Box(
            max(0, box.left - 1),
            max(0, box.top - 1),
            min(width, box.right + 1),
            min(height, box.bottom + 1),
        )
        if outer != box:
            hashed.append((name, outer))
    return hashed


def _background_share(
    rows: npt.NDArray[np.uint8], colour: npt.NDArray[np.int16]
) -> npt.NDArray[np.float64]:
    close = np.all(np.abs(rows.astype(np.int16) - colour) <= BACKGROUND_TOLERANCE, axis=-1)
    return np.asarray(close.mean(axis=1), dtype=np.float64)


def _bar_height(rgb: npt.NDArray[np.uint8]) -> int:
    """Height of a caption bar at the top of ``rgb`` (0 if there is none).

    A bar is a run of rows mostly in one background colour (text covers the rest) that ends
    with plain margin rows; the picture starts after the last margin row.
    """
    height = rgb.shape[0]
    colour = np.median(rgb[0], axis=0).astype(np.int16)
    if _background_share(rgb[:1], colour)[0] < MARGIN_ROW_BACKGROUND:
        return 0  # no plain margin at the edge: most pictures stop here
    share = _background_share(rgb[: int(height * BAR_MAX) + 2], colour)
    band = 0
    while band < len(share) and share[band] >= BAR_ROW_BACKGROUND:
        band += 1
    margin = share[:band] >= MARGIN_ROW_BACKGROUND
    ends = np.flatnonzero(margin[:-1] & ~margin[1:]) + 1  # rows where a margin run ends
    if band == len(margin) and band > 0 and margin[-1]:
        ends = np.append(ends, band)
    if band < len(share) and band > 0 and margin[band - 1]:
        ends = np.append(ends, band)
    for cut in sorted(set(ends.tolist()), reverse=True):
        # A bar holds text: some rows above the cut are not plain margin.
        if BAR_MIN * height <= cut <= BAR_MAX * height and not margin[:cut].all():
            return int(cut)
    return 0


def caption_removed(rgb: npt.NDArray[np.uint8]) -> list[Box]:
    """The picture without its caption bar(s): one box per plausible cut, best guess first."""
    height, width = rgb.shape[:2]
    if height < 32 or width < 32:
        return []
    top = _bar_height(rgb)
    bottom = _bar_height(rgb[::-1])
    boxes = []
    if top and bottom and height - top - bottom >= height * (1 - 2 * BAR_MAX):
        boxes.append(Box(0, top, width, height - bottom))
    # A dark or plain edge of the picture itself can pass for a bar: try each cut alone too.
    if top:
        boxes.append(Box(0, top, width, height))
    if bottom:
        boxes.append(Box(0, 0, width, height - bottom))
    return boxes


def _dense_core(content: npt.NDArray[np.bool_], box: Box) -> Box:
    """Shrink a box while its edge rows and columns are mostly background (text, frames)."""
    left, top, right, bottom = box.left, box.top, box.right, box.bottom
    for _ in range(3):
        region = content[top:bottom, left:right]
        if region.size == 0:
            break
        rows = np.flatnonzero(region.mean(axis=1) >= 0.5)
        cols = np.flatnonzero(region.mean(axis=0) >= 0.5)
        if len(rows) == 0 or len(cols) == 0:
            break
        new = (
            left + int(cols[0]),
            top + int(rows[0]),
            left + int(cols[-1]) + 1,
            top + int(rows[-1]) + 1,
        )
        if new == (left, top, right, bottom):
            break
        left, top, right, bottom = new
    return Box(left, top, right, bottom)


def inner_picture(rgb: npt.NDArray[np.uint8]) -> Box | None:
    """The largest picture-like region on a plain canvas (a screenshot of an image)."""
    height, width = rgb.shape[:2]
    if height < 32 or width < 32:
        return None
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.int16)
    colour = np.median(border, axis=0).astype(np.int16)
    if np.mean(np.all(np.abs(border - colour) <= BACKGROUND_TOLERANCE, axis=-1)) < 0.6:
        return None  # the picture reaches the edges: no canvas around it
    content = np.any(np.abs(rgb.astype(np.int16) - colour) > BACKGROUND_TOLERANCE // 2, axis=-1)
    labels, count = ndimage.label(content)
    if count == 0:
        return None
    sizes = ndimage.sum_labels(content, labels, index=np.arange(1, count + 1))
    biggest = int(np.argmax(sizes)) + 1
    rows, cols = ndimage.find_objects((labels == biggest).astype(np.int32))[0]
    box = _dense_core(content, Box(cols.start, rows.start, cols.stop, rows.stop))
    area = (box.right - box.left) * (box.bottom - box.top)
    if not INNER_MIN * height * width <= area <= INNER_MAX * height * width:
        return None
    if sizes[biggest - 1] < 0.6 * area:
        return None  # scattered marks (text, icons), not one picture
    # Leave out the outermost pixel: a frame or shadow line is drawn there more often than not.
    return Box(box.left + 1, box.top + 1, box.right - 1, box.bottom - 1)


def picture_band(rgb: npt.NDArray[np.uint8]) -> Box | None:
    """The picture of a phone screenshot: the tallest run of content rows in a feed of text.

    A phone shows the picture at the screen's width, so it reaches the image's sides and no
    plain canvas surrounds it (:func:`inner_picture` finds nothing); but the rows above and
    below it are a plain background with short runs of text (name, likes, comments).
    """
    height, width = rgb.shape[:2]
    if height < 32 or width < 32:
        return None
    colour = _common_colour(np.concatenate([rgb[:, 0], rgb[:, -1], rgb[-1]]))
    differs = np.any(np.abs(rgb.astype(np.int16) - colour) > BACKGROUND_TOLERANCE, axis=-1)
    share = differs.mean(axis=1)
    content = share > BAND_ROW_CONTENT
    edges = np.flatnonzero(np.diff(np.concatenate([[0], content.astype(np.int8), [0]])))
    runs = list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
    if len(runs) < BAND_OTHER_RUNS + 1:
        return None
    runs.sort(key=lambda run: run[1] - run[0], reverse=True)
    (top, bottom), (other_top, other_bottom) = runs[0], runs[1]
    if bottom - top < BAND_TALLER * (other_bottom - other_top):
        return None
    outside = np.concatenate([share[:top], share[bottom:]])
    if len(outside) == 0 or 1.0 - outside.mean() < BAND_OUTSIDE_BACKGROUND:
        return None
    cols = np.flatnonzero(differs[top:bottom].any(axis=0))
    box = Box(int(cols[0]), top, int(cols[-1]) + 1, bottom)
    area = (box.right - box.left) * (box.bottom - box.top)
    if not INNER_MIN * height * width <= area <= INNER_MAX * height * width:
        return None
    return box


def _common_colour(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.int16]:
    """The most common colour of ``pixels`` (n, 3), to a few grey levels.

    Not the median: beside a picture as tall as the plain background, the median of each
    channel may be a colour of neither.
    """
    coarse = (pixels >> 5).astype(np.int16)
    codes = (coarse[:, 0] << 6) | (coarse[:, 1] << 3) | coarse[:, 2]
    common = np.bincount(codes, minlength=512).argmax()
    return np.asarray(np.median(pixels[codes == common], axis=0), dtype=np.int16)

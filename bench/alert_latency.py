"""Repost alert latency and burst throughput of the real bot against the fake Discord.

Run ``python -m bench.alert_latency``: about 30 s, plus about a minute the first time to
make the pictures (cached afterwards under ``bench.common.CACHE_DIR``). Exit status 1 if an
alert was missed, an image was lost or anything logged a warning.

seenit runs in this process as in production, minus the network: the real discord.py
client (``SeenitBot`` with every cog), a SQLite file in a temporary directory, ``Hasher(2)``
(two worker processes) and a ``Fetcher``, logged in to ``tests.fakediscord`` on loopback
through ``running_bot``. The fake and the bot share this process's event loop, so the fake's
own work (building messages, serving the CDN, recording requests) is inside the numbers.

Before the bot starts, 10^5 images with random 64- and 256-bit hashes are written to the
guild's store (``Store.add_images`` in batches), so the guild's in-memory index holds
10^5 entries when the measured posts arrive.

**Latency.** One 1280x720 JPEG (a real photo, upscaled) is posted once; then 200 reposts of
it (edits of the same picture at 1280x720, each a different JPEG file) are posted one at a
time, each after the previous alert, by members other than the original poster. For each
repost the bench takes ``time.perf_counter()`` (same process, same clock) when:

* *dispatch*: the fake wrote the MESSAGE_CREATE frame to the bot's websocket (``send_str``
  returned);
* *download*: the fake received the bot's GET of the attachment from its CDN;
* *fingerprint back*: the bot's ``await hasher.fingerprint(...)`` returned (the production
  ``Hasher``, subclassed only to note the time);
* *alert*: the fake received, in full (headers and JSON body read, before it builds its
  response), the bot's ``POST /channels/{id}/messages`` replying to the repost.

Latency = alert - dispatch: discord.py parsing the event, the download, hashing in a worker
process, the index search, the store writes, rendering and sending the reply. After each
alert the bench waits 20 ms so the bot's bookkeeping of that alert (the alerts row) does not
overlap the next sample. Every repost is stored too, so the last reposts match up to 200
earlier posts.

**Throughput.** Two bursts of 400 distinct 1280x720 JPEGs (crops of the real pictures in
``bench.common.real_pictures``, checked with seenit's own matching rule to be pairwise
non-reposts and not reposts of the latency photo) across 5 channels. *Live*: posted back to
back, the fake creating and dispatching them while the bot works. *Held*: created first with
their MESSAGE_CREATE frames held back, then released at once (the fastest the fake can
dispatch them). The bench polls the SQLite file (its own read-only connection, every 10 ms)
until the 400 rows are there, and checks none is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import json
import logging
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from bench.common import (
    CACHE_DIR,
    RESULTS_DIR,
    Picture,
    cached_rgb,
    loadavg,
    machine_line,
    md_table,
    percentile,
    real_pictures,
)
from bench.local_search import synthetic_words, word_pool
from bot.client import SeenitBot
from bot.config import Config
from bot.fetch import Fetcher
from bot.flow import RateLimit
from bot.hashing import Fingerprint, Limits, fingerprint
from bot.hashing_pool import Hasher
from bot.index import HammingIndex
from bot.local import LocalIndex, extract_local
from bot.matching import DEFAULT, LOCAL_CANDIDATES, judge_pair, query_hashes
from bot.records import NewImage
from bot.service import SeenService
from bot.store import open_store
from tests.fakediscord import Channel, FakeDiscord, Member, RecordedRequest, running_bot
from tests.fakediscord.gateway import Gateway, GatewayConnection, GatewaySession
from tests.fakediscord.state import JSON

WIDTH, HEIGHT = 1280, 720
LATENCY_PHOTO = "skimage_chelsea"
#: Pictures are decoded once, downscaled to this longer side, and cached (bench.common).
SOURCE_SIDE = 2048
MEDIAN_TARGET_MS = 50.0
P99_TARGET_MS = 200.0
#: Pause after each alert before the next repost (lets the bot finish recording the alert).
GAP_S = 0.02
ALERT_TIMEOUT_S = 10.0
PREFILL_BATCH = 10_000
POLL_S = 0.01

# --------------------------------------------------------------------------- timed fake


class TimedRequests(list[RecordedRequest]):
    """``fake.requests`` that tells the fake when each request was recorded."""

    def __init__(self, on_request: Callable[[RecordedRequest, float], None]) -> None:
        super().__init__()
        self._on_request = on_request

    def append(self, record: RecordedRequest) -> None:
        now = time.perf_counter()
        super().append(record)
        self._on_request(record, now)


class TimedGateway(Gateway):
    """The fake's gateway, noting when each MESSAGE_CREATE frame went out on the websocket."""

    def __init__(self, fake: TimedFakeDiscord) -> None:
        super().__init__(fake)
        self._timed = fake

    def _attach(
        self,
        conn: GatewayConnection,
        session: GatewaySession,
        *,
        cursor: int,
        replay_until: int = 0,
    ) -> None:
        super()._attach(conn, session, cursor=cursor, replay_until=replay_until)
        send = conn.send
        timed = self._timed

        async def timed_send(payload: JSON) -> None:
            if payload.get("t") != "MESSAGE_CREATE":
                await send(payload)
                return
            await timed.gate.wait()
            await send(payload)
            timed.dispatched_at.setdefault(int(payload["d"]["id"]), time.perf_counter())

        # The writer task created by super()._attach has not run yet: it will call this.
        conn.send = timed_send  # type: ignore[method-assign]


class TimedHasher(Hasher):
    """The production hasher, noting when each fingerprint came back from a worker."""

    def __init__(self, workers: int, limits: Limits) -> None:
        super().__init__(workers, limits)
        self.done: list[float] = []

    async def fingerprint(self, data: bytes) -> Fingerprint:
        result = await super().fingerprint(data)
        self.done.append(time.perf_counter())
        return result


class TimedFakeDiscord(FakeDiscord):
    """FakeDiscord recording dispatch, download and alert times (``time.perf_counter``)."""

    def __init__(self) -> None:
        super().__init__()
        self.gateway = TimedGateway(self)
        self.requests = TimedRequests(self._on_request)
        #: message id -> MESSAGE_CREATE frame written to the bot's websocket
        self.dispatched_at: dict[int, float] = {}
        #: attachment id -> the bot's CDN GET received
        self.download_at: dict[int, float] = {}
        #: replied-to message id -> the bot's POST of a reply received
        self.alert_at: dict[int, float] = {}
        self._alert_waiters: dict[int, asyncio.Future[float]] = {}
        #: cleared: MESSAGE_CREATE frames wait (events pile up in the session log)
        self.gate = asyncio.Event()
        self.gate.set()

    def _on_request(self, record: RecordedRequest, now: float) -> None:
        parts = record.path.strip("/").split("/")
        if record.method == "GET" and parts[0] in ("attachments", "media") and len(parts) >= 4:
            self.download_at.setdefault(int(parts[-2]), now)
        elif (
            record.method == "POST"
            and record.route == "/api/v10/channels/{channel_id}/messages"
            and isinstance(record.json, dict)
            and isinstance(record.json.get("message_reference"), dict)
        ):
            replied = int(record.json["message_reference"]["message_id"])
            self.alert_at.setdefault(replied, now)
            waiter = self._alert_waiters.pop(replied, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(now)

    async def wait_for_alert(self, message_id: int, within: float) -> float:
        """perf_counter time the bot's reply to ``message_id`` arrived (TimeoutError if not)."""
        if message_id in self.alert_at:
            return self.alert_at[message_id]
        waiter = asyncio.get_running_loop().create_future()
        self._alert_waiters[message_id] = waiter
        try:
            return await asyncio.wait_for(waiter, within)
        finally:
            self._alert_waiters.pop(message_id, None)


# --------------------------------------------------------------------------- pictures


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def crop_16_9(image: Image.Image, box: tuple[float, float, float] = (1.0, 0.5, 0.5)) -> Image.Image:
    """A 16:9 crop: ``(scale, cx, cy)`` = share of the largest 16:9 window, its centre."""
    scale, cx, cy = box
    w, h = image.size
    cw, ch = (w, w * 9 / 16) if w * 9 / 16 <= h else (h * 16 / 9, h)
    cw, ch = cw * scale, ch * scale
    left = min(max(cx * w - cw / 2, 0), w - cw)
    top = min(max(cy * h - ch / 2, 0), h - ch)
    return image.crop((round(left), round(top), round(left + cw), round(top + ch)))


def to_frame(image: Image.Image) -> Image.Image:
    return image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS, reducing_gap=3.0)


def repost_edits() -> list[tuple[str, Callable[[Image.Image], Image.Image]]]:
    """Edits a repost goes through, each keeping 1280x720."""

    def watermark(im: Image.Image) -> Image.Image:
        marked = im.copy()
        ImageDraw.Draw(marked).text((24, 24), "seen @ somewhere", fill=(255, 255, 255))
        return marked

    def crop(im: Image.Image, share: int = 50) -> Image.Image:
        dx, dy = im.width // share, im.height // share
        return to_frame(im.crop((dx, dy, im.width - dx, im.height - dy)))

    def corner_crop(im: Image.Image) -> Image.Image:
        # 15% off the right and bottom: the global hashes move too far, the local stage finds it.
        return to_frame(im.crop((0, 0, im.width * 85 // 100, im.height * 85 // 100)))

    def captioned(im: Image.Image) -> Image.Image:
        bar = im.height // 5
        out = Image.new("RGB", im.size, "white")
        inner = im.resize((round(im.width * (im.height - bar) / im.height), im.height - bar))
        out.paste(inner, ((im.width - inner.width) // 2, bar))
        draw = ImageDraw.Draw(out)
        draw.text((im.width // 4, bar // 3), "when the build is green on friday", fill="black")
        return out

    return [
        ("re-encoded", lambda im: im),
        ("mirrored", ImageOps.mirror),
        ("brighter", lambda im: ImageEnhance.Brightness(im).enhance(1.15)),
        ("watermark", watermark),
        ("crop 2%", crop),
        ("corner crop 15%", corner_crop),
        ("captioned", captioned),
    ]


#: Edits the global hashes miss: their alerts come from the local stage.
LOCAL_EDITS = ("corner crop 15%", "captioned")


@dataclass
class Pictures:
    original: bytes
    reposts: list[tuple[str, bytes]]
    burst: list[bytes]
    burst_held: list[bytes]
    burst_sources: int
    rejected: int
    seconds: float
    cached: bool = False


#: 16:9 windows ``(scale, cx, cy)`` cut from each real picture: the whole frame, 4 at
#: 55% and 9 at 35% of the largest window.
WINDOWS: tuple[tuple[float, float, float], ...] = (
    (1.0, 0.5, 0.5),
    *((0.55, cx, cy) for cx, cy in ((0.3, 0.3), (0.7, 0.3), (0.3, 0.7), (0.7, 0.7))),
    *((0.35, cx, cy) for cy in (0.2, 0.5, 0.8) for cx in (0.2, 0.5, 0.8)),
)
PICTURES_VERSION = 4


def make_pictures(reposts: int, burst: int, seed: int = 20240601) -> Pictures:
    """The latency photo, its reposts, and ``2 * burst`` distinct pictures (two bursts).

    Made once and cached as files under ``bench.common.CACHE_DIR`` (outside the repository).
    """
    started = time.perf_counter()
    pictures = real_pictures()
    key = hashlib.sha256(
        repr(
            (PICTURES_VERSION, reposts, burst, seed, WINDOWS, [(p.name, p.width) for p in pictures])
        ).encode()
    ).hexdigest()[:16]
    cache = CACHE_DIR / f"alert-latency-{key}"
    meta_path = cache / "meta.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())

        def read(name: str) -> bytes:
            return (cache / name).read_bytes()

        return Pictures(
            original=read("original.jpg"),
            reposts=[(edit, read(f"repost-{n:03d}.jpg")) for n, edit in enumerate(meta["edits"])],
            burst=[read(f"live-{n:03d}.jpg") for n in range(burst)],
            burst_held=[read(f"held-{n:03d}.jpg") for n in range(burst)],
            burst_sources=int(meta["sources"]),
            rejected=int(meta["rejected"]),
            seconds=time.perf_counter() - started,
            cached=True,
        )
    made = _make_pictures(pictures, reposts, burst, seed)
    tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "original.jpg").write_bytes(made.original)
    for n, (_, data) in enumerate(made.reposts):
        (tmp / f"repost-{n:03d}.jpg").write_bytes(data)
    for prefix, files in (("live", made.burst), ("held", made.burst_held)):
        for n, data in enumerate(files):
            (tmp / f"{prefix}-{n:03d}.jpg").write_bytes(data)
    meta = {
        "edits": [edit for edit, _ in made.reposts],
        "sources": made.burst_sources,
        "rejected": made.rejected,
    }
    (tmp / "meta.json").write_text(json.dumps(meta))
    with contextlib.suppress(OSError):
        tmp.rename(cache)
    made.seconds = time.perf_counter() - started
    return made


def _make_pictures(pictures: list[Picture], reposts: int, burst: int, seed: int) -> Pictures:
    wanted = 2 * burst
    by_name = {p.name: p for p in pictures}
    photo = by_name.get(LATENCY_PHOTO) or pictures[0]
    frame = to_frame(crop_16_9(cached_rgb(photo.path, SOURCE_SIDE)))
    original = encode_jpeg(frame, 90)
    original_fp = fingerprint(original)

    edits = repost_edits()
    repost_files = []
    for n in range(reposts):
        name, edit = edits[n % len(edits)]
        repost_files.append((name, encode_jpeg(edit(frame), 75 + n % 20)))

    # Crops of every other real picture, each picture decoded once; a crop that seenit's
    # rule (both stages, as the bot) calls a repost of one kept before (or of the latency
    # photo) is dropped.
    rng = random.Random(seed)
    others = [p for p in pictures if p.name != photo.name]
    index = HammingIndex()
    local = LocalIndex()
    prints: list[Fingerprint] = [original_fp]
    index.add(0, original_fp.phash64)
    if original_fp.local is not None:
        local.add(0, original_fp.local.words)
    rejected = 0
    kept: list[list[bytes]] = [[] for _ in others]
    # One window of every picture per round (the whole frame first) until enough are kept:
    # a machine with few wallpapers takes more crops of each.
    for window in WINDOWS:
        if sum(len(files) for files in kept) >= wanted:
            break
        for pic, mine in zip(others, kept, strict=True):
            source = cached_rgb(pic.path, SOURCE_SIDE)
            data = encode_jpeg(to_frame(crop_16_9(source, window)), rng.randrange(80, 93))
            fp = fingerprint(data)
            found = [h.image_id for h in index.search(query_hashes(fp), DEFAULT.radius64)]
            if fp.local is not None:
                found += local.query(fp.local, LOCAL_CANDIDATES)
            if any(
                judge_pair(fp, prints[i], DEFAULT).repost
                or judge_pair(prints[i], fp, DEFAULT).repost
                for i in dict.fromkeys(found)
            ):
                rejected += 1
                continue
            if fp.local is not None:
                local.add(len(prints), fp.local.words)
            index.add(len(prints), fp.phash64)
            prints.append(fp)
            mine.append(data)
    # Round-robin over the pictures (whole frames first), alternating between the bursts.
    chosen = [files[r] for r in range(len(WINDOWS)) for files in kept if r < len(files)][:wanted]
    if len(chosen) < wanted:
        raise SystemExit(f"only {len(chosen)} distinct pictures could be made, need {wanted}")
    return Pictures(
        original=original,
        reposts=repost_files,
        burst=chosen[0::2],
        burst_held=chosen[1::2],
        burst_sources=sum(1 for files in kept if files),
        rejected=rejected,
        seconds=0.0,
    )


# --------------------------------------------------------------------------- the run


class ProblemLog(logging.Handler):
    """Keeps WARNING and worse records, and the index load line of the service."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.problems: list[str] = []
        self.index_loads: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "voice will NOT be supported" in message:
            return  # optional voice libraries: nothing to do with seenit
        if record.levelno >= logging.WARNING:
            self.problems.append(f"{record.levelname} {record.name}: {message}")
        elif record.name == "bot.service" and message.startswith("loaded"):
            self.index_loads.append(message)


@dataclass
class Burst:
    """One burst of distinct images and what became of it."""

    held: bool
    posted: int = 0
    #: held: creating the messages (nothing sent); live: the post_message loop
    post_seconds: float = 0.0
    #: from the start (live: first post; held: release) to the last MESSAGE_CREATE sent
    dispatch_seconds: float = 0.0
    #: from the start to the last attachment download received / fingerprint done
    download_seconds: float = 0.0
    hashed_seconds: float = 0.0
    #: from the start to the last row seen
    stored_seconds: float = 0.0
    stored: int = 0
    alerts: int = 0
    #: per image: MESSAGE_CREATE sent -> row seen
    ingest: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0


@dataclass
class Results:
    stored_before: int = 0
    prefill_seconds: float = 0.0
    index_size: int = 0
    index_load: str = ""
    latency: list[float] = field(default_factory=list)
    #: Alert latency of each repost edit.
    by_edit: dict[str, list[float]] = field(default_factory=dict)
    to_download: list[float] = field(default_factory=list)
    download_to_hashed: list[float] = field(default_factory=list)
    hashed_to_alert: list[float] = field(default_factory=list)
    post_to_alert: list[float] = field(default_factory=list)
    missed_alerts: int = 0
    matches_last: int = 0
    bursts: list[Burst] = field(default_factory=list)
    slowest: list[tuple[int, float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0


def prefill_features() -> list[tuple[bytes, bytes]]:
    """(blob, words) of pictures unlike any posted in the run: synthetic screenshots."""
    from bench.quality import corpus

    makers = (corpus._chat_desktop, corpus._code_editor, corpus._article, corpus._bar_chart)
    features = []
    for k in range(8):
        local = extract_local(makers[k % len(makers)](random.Random(k)).convert("RGB"))
        if local is not None:
            features.append((local.to_bytes(), local.words))
    return features


async def prefill(db_url: str, guild_id: int, channel_id: int, count: int, seed: int) -> None:
    """``count`` images posted long ago by 50 members, via the store: random hashes, local
    words drawn as ``bench.local_search`` draws them, and the local features of synthetic
    screenshots (what verification reads for a candidate)."""
    rng = np.random.default_rng(seed)
    words = synthetic_words(count, word_pool(), seed)
    blobs = prefill_features()
    first_message = 10**17  # a snowflake of 2015, older than anything the fake hands out
    posted_at = 1_500_000_000_000
    async with open_store(db_url) as store:
        for start in range(0, count, PREFILL_BATCH):
            n = min(PREFILL_BATCH, count - start)
            h64 = rng.integers(0, 2**64, size=n, dtype=np.uint64)
            h256 = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
            quality = rng.integers(20, 100, size=n)
            authors = rng.integers(1, 51, size=n)
            batch = [
                NewImage(
                    guild_id=guild_id,
                    channel_id=channel_id,
                    message_id=first_message + start + i,
                    author_id=int(authors[i]),
                    slot=0,
                    posted_at=posted_at + (start + i) * 1000,
                    phash64=int(h64[i]),
                    phash256=h256[i].tobytes(),
                    quality=int(quality[i]),
                    local_data=blobs[(start + i) % len(blobs)][0],
                    local_words=words[start + i],
                )
                for i in range(n)
            ]
            await store.add_images(batch)


def count_rows(db: sqlite3.Connection, where: str, params: Sequence[Any] = ()) -> int:
    return int(db.execute(f"SELECT count(*) FROM images WHERE {where}", params).fetchone()[0])


async def run(args: argparse.Namespace, pictures: Pictures) -> Results:
    results = Results()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="seenit-alert-latency-") as tmp:
        db_path = Path(tmp) / "seenit.db"
        db_url = f"sqlite:///{db_path}"
        fake = TimedFakeDiscord()
        async with fake:
            guild = fake.add_guild("Latency")
            category = fake.add_category(guild, "chat")
            archive = fake.add_text_channel(guild, "archive", parent_id=category)
            general = fake.add_text_channel(guild, "general", parent_id=category)
            memes = fake.add_text_channel(guild, "memes", parent_id=category)
            burst_channels = [
                fake.add_text_channel(guild, f"burst-{n}", parent_id=category)
                for n in range(1, args.channels + 1)
            ]
            alice = fake.add_member(guild, "alice")
            reposters = [fake.add_member(guild, name) for name in ("bob", "carol", "dave")]

            t = time.perf_counter()
            await prefill(db_url, guild.id, archive.id, args.stored, args.seed)
            results.prefill_seconds = time.perf_counter() - t
            print(
                f"stored {args.stored} images in {results.prefill_seconds:.1f} s", file=sys.stderr
            )

            config = Config(database_url=db_url, hash_workers=2)
            limits = Limits(max_pixels=config.max_image_pixels, max_bytes=config.max_image_bytes)
            async with (
                open_store(config.database_url) as store,
                TimedHasher(config.hash_workers, limits) as hasher,
                Fetcher(max_bytes=config.max_image_bytes, timeout=config.fetch_timeout) as fetcher,
            ):
                service = SeenService(store, hasher)
                bot = SeenitBot(config=config, service=service, fetcher=fetcher)
                async with running_bot(fake, bot):
                    # 200 reposts in one channel within seconds are a flood, whose alerts
                    # the bot rate-limits; this bench times every alert, so it lifts the limit.
                    reposts_cog = bot.get_cog("Reposts")
                    assert reposts_cog is not None
                    reposts_cog.alerts.limit = RateLimit(1 << 30, 1.0)  # type: ignore[attr-defined]
                    await latency_phase(
                        fake, bot, hasher, general, memes, alice, reposters, pictures, results
                    )
                    for held, images in ((False, pictures.burst), (True, pictures.burst_held)):
                        burst = await burst_phase(
                            fake, hasher, db_path, burst_channels, alice, images, held
                        )
                        results.bursts.append(burst)
            results.problems += [f"fake internal error: {e!r}" for e in fake.internal_errors]
            results.problems += [
                f"unknown route: {r.method} {r.path}" for r in fake.unknown_requests
            ]
    results.wall_seconds = time.perf_counter() - started
    return results


async def latency_phase(
    fake: TimedFakeDiscord,
    bot: SeenitBot,
    hasher: TimedHasher,
    general: Channel,
    memes: Channel,
    alice: Member,
    reposters: list[Member],
    pictures: Pictures,
    results: Results,
) -> None:
    guild_id = general.guild_id
    store = bot.service.store
    results.stored_before = await store.count_images(guild_id)
    await fake.post_message(general, alice, attachments=[("original.jpg", pictures.original)])
    deadline = time.perf_counter() + 120
    while await store.count_images(guild_id) != results.stored_before + 1:
        if time.perf_counter() > deadline:
            raise TimeoutError("the original was never stored")
        await asyncio.sleep(POLL_S)
    index = await bot.service.index(guild_id)
    results.index_size = len(index)
    print(f"index holds {results.index_size} entries; posting reposts", file=sys.stderr)

    for n, (edit, data) in enumerate(pictures.reposts):
        author = reposters[n % len(reposters)]
        posted = time.perf_counter()
        msg = await fake.post_message(memes, author, attachments=[(f"repost-{n}.jpg", data)])
        message_id = int(msg["id"])
        attachment_id = int(msg["attachments"][0]["id"])
        try:
            alerted = await fake.wait_for_alert(message_id, ALERT_TIMEOUT_S)
        except TimeoutError:
            results.missed_alerts += 1
            print(f"repost {n} ({edit}): no alert", file=sys.stderr)
            continue
        dispatched = fake.dispatched_at[message_id]
        downloaded = fake.download_at[attachment_id]
        hashed = hasher.done[-1]  # one repost in flight at a time: its fingerprint
        results.latency.append(alerted - dispatched)
        results.by_edit.setdefault(edit, []).append(alerted - dispatched)
        results.to_download.append(downloaded - dispatched)
        results.download_to_hashed.append(hashed - downloaded)
        results.hashed_to_alert.append(alerted - hashed)
        results.post_to_alert.append(alerted - posted)
        await asyncio.sleep(GAP_S)
        if (n + 1) % 50 == 0:
            so_far = statistics.median(results.latency) * 1e3
            print(f"  {n + 1} reposts, median so far {so_far:.1f} ms", file=sys.stderr)
    ranked = sorted(enumerate(results.latency), key=lambda x: -x[1])
    results.slowest = ranked[:3]
    # Stored posts (the original and earlier reposts) the last repost is a repost of.
    found = await bot.service.search(guild_id, fingerprint(pictures.reposts[-1][1]))
    results.matches_last = len([m for m in found if m.image.message_id != message_id])


async def burst_phase(
    fake: TimedFakeDiscord,
    hasher: TimedHasher,
    db_path: Path,
    channels: list[Channel],
    author: Member,
    images: Sequence[bytes],
    held: bool,
) -> Burst:
    """Post ``images`` round-robin to ``channels``; wait until every one is stored.

    live (``held=False``): the clock starts at the first ``post_message`` and the fake
    creates and dispatches the messages while the bot works on them (one event loop).
    held: the messages are created with MESSAGE_CREATE frames held back, then released
    at once; the clock starts at the release, and the fake only writes frames and serves
    the CDN while the bot works.
    """
    burst = Burst(held=held, posted=len(images))
    channel_ids = [c.id for c in channels]
    where = f"channel_id IN ({','.join('?' * len(channel_ids))})"
    alerts_before = len(fake.alert_at)
    posted: list[int] = []
    seen: dict[int, float] = {}
    stop = asyncio.Event()
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    first_row = int(db.execute("SELECT coalesce(max(id), 0) FROM images").fetchone()[0])
    before = count_rows(db, where, channel_ids)

    async def poll() -> None:
        last_id = first_row
        while True:
            rows = db.execute(
                f"SELECT id, message_id FROM images WHERE {where} AND id > ? ORDER BY id",
                [*channel_ids, last_id],
            ).fetchall()
            now = time.perf_counter()
            for row_id, message_id in rows:
                seen.setdefault(int(message_id), now)
                last_id = max(last_id, int(row_id))
            if stop.is_set() or len(seen) >= len(images):
                return
            await asyncio.sleep(POLL_S)

    print(f"burst of {len(images)} ({'held' if held else 'live'})", file=sys.stderr)
    with contextlib.closing(db):
        if held:
            fake.gate.clear()
        cpu = time.process_time()
        started = time.perf_counter()
        poller = asyncio.create_task(poll())
        try:
            for n, data in enumerate(images):
                channel = channels[n % len(channels)]
                msg = await fake.post_message(channel, author, attachments=[(f"b{n}.jpg", data)])
                posted.append(int(msg["id"]))
            burst.post_seconds = time.perf_counter() - started
            if held:
                started = time.perf_counter()
                cpu = time.process_time()
                fake.gate.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(poller), 120)
        finally:
            fake.gate.set()
            stop.set()
            await poller
        burst.cpu_seconds = time.process_time() - cpu
        burst.stored_seconds = max(seen.values(), default=started) - started
        await asyncio.sleep(0.5)  # anything late (duplicates, alerts) shows up now
        burst.stored = count_rows(db, where, channel_ids) - before
    dispatched = [fake.dispatched_at[m] for m in posted if m in fake.dispatched_at]
    burst.dispatch_seconds = (max(dispatched) - started) if dispatched else float("nan")
    burst.download_seconds = max(fake.download_at.values()) - started
    burst.hashed_seconds = max(hasher.done) - started
    burst.ingest = [seen[m] - fake.dispatched_at[m] for m in posted if m in seen]
    burst.alerts = len(fake.alert_at) - alerts_before
    missing = len(set(posted) - set(seen))
    if missing:
        print(f"{missing} burst images never stored", file=sys.stderr)
    return burst


# --------------------------------------------------------------------------- report


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.1f}" if value < 1000 else f"{value:.0f}"


def summary_row(name: str, values: Sequence[float]) -> list[str]:
    return [
        name,
        str(len(values)),
        ms(min(values)),
        ms(statistics.median(values)),
        ms(statistics.fmean(values)),
        ms(percentile(values, 90)),
        ms(percentile(values, 99)),
        ms(max(values)),
    ]


def burst_column(b: Burst) -> list[str]:
    rate = b.stored / b.stored_seconds if b.stored_seconds else 0.0
    return [
        str(b.posted),
        f"{b.post_seconds:.2f} s",
        f"{b.dispatch_seconds:.2f} s",
        f"{b.download_seconds:.2f} s",
        f"{b.hashed_seconds:.2f} s",
        f"**{b.stored_seconds:.2f} s**",
        f"**{rate:.0f} images/s**",
        f"{b.stored} / {b.posted - b.stored}",
        str(b.alerts),
        f"{ms(statistics.median(b.ingest))} / {ms(percentile(b.ingest, 99))}"
        f" / {ms(max(b.ingest))} ms"
        if b.ingest
        else "-",
        f"{b.cpu_seconds:.2f} s ({b.cpu_seconds / max(b.stored_seconds, 1e-9):.0%} of a core)",
    ]


def local_ratio(r: Results) -> str:
    by_local = [v for e, vs in r.by_edit.items() if e in LOCAL_EDITS for v in vs]
    by_global = [v for e, vs in r.by_edit.items() if e not in LOCAL_EDITS for v in vs]
    if not by_local or not by_global:
        return ""
    a, b = statistics.median(by_local), statistics.median(by_global)
    return (
        f"Median alert latency of the reposts found by the local stage {ms(a)} ms, by the global"
        f" stage {ms(b)} ms (same run): {a / b:.2f}x."
    )


def report(args: argparse.Namespace, pictures: Pictures, r: Results, machine: str) -> str:
    median = statistics.median(r.latency) * 1000 if r.latency else float("inf")
    p99 = percentile(r.latency, 99) * 1000 if r.latency else float("inf")
    headers = ["interval (ms)", "n", "min", "median", "mean", "p90", "p99", "max"]
    latency_rows = [
        summary_row("**MESSAGE_CREATE sent -> alert POST received**", r.latency),
        summary_row("MESSAGE_CREATE sent -> attachment GET received", r.to_download),
        summary_row(
            "attachment GET received -> fingerprint back from the worker", r.download_to_hashed
        ),
        summary_row("fingerprint back -> alert POST received", r.hashed_to_alert),
        summary_row("post_message() called -> alert POST received", r.post_to_alert),
    ]
    quarter = max(1, len(r.latency) // 4)
    first, last = r.latency[:quarter], r.latency[-quarter:]
    labels = [
        "images (distinct 1280x720 JPEGs)",
        "creating the messages (live: the post_message loop; held: nothing sent yet)",
        "start -> last MESSAGE_CREATE written to the websocket",
        "start -> last attachment GET received",
        "start -> last fingerprint back from a worker",
        "**start -> all stored**",
        "**throughput**",
        "stored / lost",
        "alerts raised (expected 0)",
        "per image: MESSAGE_CREATE sent -> row seen (median / p99 / max)",
        "CPU time of this process (fake + bot; hashing is in the workers)",
    ]
    live = next((b for b in r.bursts if not b.held), None)
    held = next((b for b in r.bursts if b.held), None)
    columns = [burst_column(b) if b else ["-"] * len(labels) for b in (live, held)]
    burst_rows = [[label, columns[0][i], columns[1][i]] for i, label in enumerate(labels)]
    sizes = [len(d) for _, d in pictures.reposts]
    burst_sizes = [len(d) for d in pictures.burst + pictures.burst_held]
    slowest = ", ".join(f"#{i + 1}: {ms(v)} ms" for i, v in r.slowest)
    lines = [
        "# Repost alert latency and burst throughput (`python -m bench.alert_latency`)",
        "",
        machine + f"; discord.py {discord.__version__}.",
        "",
        "seenit in-process (`SeenitBot` with every cog, SQLite file, `Hasher(2)` worker"
        " processes, `Fetcher`) logged in to `tests.fakediscord` on loopback; the fake and the"
        " bot share one event loop, so the fake's work is inside every number. The guild's"
        f" store held {r.stored_before:,} images before the run (random hashes; local words"
        " drawn as `bench.local_search` draws them, so the local index holds them all, and the"
        " local features of synthetic screenshots for verification to read; written"
        f" in {r.prefill_seconds:.1f} s); the index held {r.index_size:,} entries after the"
        f" original was posted ({r.index_load or 'index load time not logged'}).",
        "",
        "## Alert latency",
        "",
        f"One 1280x720 JPEG ({len(pictures.original) // 1000} kB, scikit-image's chelsea photo"
        f" upscaled) posted once, then {args.reposts} reposts of it one at a time (edits kept at"
        f" 1280x720: {', '.join(n for n, _ in repost_edits())}; JPEG quality 75-94;"
        f" {min(sizes) // 1000}-{max(sizes) // 1000} kB) by three other members, each posted"
        f" {int(GAP_S * 1000)} ms after the previous alert arrived. Times are"
        " `time.perf_counter()` in the fake: *MESSAGE_CREATE sent* = the frame was written to"
        " the bot's websocket; *GET/POST received* = the fake had read the whole request (the"
        " alert is the bot's reply, `POST /channels/{id}/messages` with a `message_reference`"
        " to the repost). Every repost is stored too, so the last repost matched"
        f" {r.matches_last} earlier posts.",
        "",
        md_table(headers, latency_rows),
        "",
        "By edit (the global stage finds the first ones; the local stage, its index query and"
        " the verification of its candidates in a worker thread, finds "
        f"{' and '.join(LOCAL_EDITS)}):",
        "",
        md_table(headers, [summary_row(edit, v) for edit, v in r.by_edit.items()]),
        "",
        local_ratio(r),
        "",
        f"Missed alerts: {r.missed_alerts}. Median of the first {quarter} reposts"
        f" {ms(statistics.median(first)) if first else '-'} ms, of the last {quarter}"
        f" {ms(statistics.median(last)) if last else '-'} ms. Slowest: {slowest}.",
        "",
        md_table(
            ["target", "measured", "met"],
            [
                [
                    f"median < {MEDIAN_TARGET_MS:.0f} ms",
                    f"{median:.1f} ms",
                    "yes" if median < MEDIAN_TARGET_MS else "**no**",
                ],
                [
                    f"p99 < {P99_TARGET_MS:.0f} ms",
                    f"{p99:.1f} ms",
                    "yes" if p99 < P99_TARGET_MS else "**no**",
                ],
            ],
        ),
        "",
        "## Sustained throughput",
        "",
        f"Two bursts of {args.burst} distinct 1280x720 JPEGs each ({min(burst_sizes) // 1000}-"
        f"{max(burst_sizes) // 1000} kB; 16:9 crops of {pictures.burst_sources} real pictures;"
        f" {pictures.rejected} candidate crops were dropped because seenit's own rule called them"
        f" reposts of another), posted round-robin to {args.channels} channels by one member."
        " **Live**: the `post_message` calls run back to back and the clock starts at the"
        " first; the fake creates and dispatches messages while the bot ingests them, on the"
        " same event loop. **Held**: the messages are created with their MESSAGE_CREATE frames"
        " held back, then released at once; the clock starts at the release, so it measures"
        " the bot working through a backlog delivered as fast as the websocket carries it."
        f" Stored rows are polled every {int(POLL_S * 1000)} ms through a separate read-only"
        " SQLite connection.",
        "",
        md_table(["measure", "live", "held"], burst_rows),
        "",
        f"Problems logged (warnings, errors, fake errors, unknown routes): {len(r.problems)}.",
    ]
    lines += [f"* {p}" for p in r.problems[:20]]
    lines += [
        "",
        f"Pictures {'read from the cache' if pictures.cached else 'made'} in"
        f" {pictures.seconds:.0f} s; the run took {r.wall_seconds:.0f} s;"
        f" load average at the end {loadavg()}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stored", type=int, default=100_000, help="images stored beforehand")
    parser.add_argument("--reposts", type=int, default=200)
    parser.add_argument("--burst", type=int, default=400)
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS_DIR / "alert_latency.md",
        help="markdown report ('-': print only)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    problems = ProblemLog()
    logging.getLogger().addHandler(problems)
    logging.getLogger("bot.service").setLevel(logging.INFO)
    machine = machine_line()
    print("making pictures", file=sys.stderr)
    pictures = make_pictures(args.reposts, args.burst)
    print(
        f"made {1 + len(pictures.reposts) + 2 * len(pictures.burst)} pictures"
        f" in {pictures.seconds:.0f} s",
        file=sys.stderr,
    )
    results = asyncio.run(run(args, pictures))
    results.problems = problems.problems + results.problems
    results.index_load = problems.index_loads[0] if problems.index_loads else ""
    text = report(args, pictures, results, machine)
    print(text)
    if str(args.output) != "-":
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        print(f"(written to {args.output})", file=sys.stderr)
    ok = (
        results.missed_alerts == 0
        and all(b.stored == b.posted for b in results.bursts)
        and not results.problems
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Member-supplied URLs against the private-address guard: tricky hosts, redirects, bodies.

Extends tests/test_fetch.py. Nothing here leaves this machine:

* names are answered by ``LocalOnlyDNS`` (installed in place of the real resolver), which
  parses numeric hosts the way glibc does but with ``AI_NUMERICHOST`` (never a query) and
  only ever answers loopback addresses;
* every URL the fetcher is about to request is checked by a tripwire first: a literal
  address that is not loopback fails the test before any connection is attempted;
* to test the guard on redirect hops, the first hop goes to ``public.example`` (loopback
  here) while a *gate* makes ``bot.fetch.is_public_address`` accept 127.0.0.1; the
  redirecting handler closes the gate, so every later hop is judged by the real check.
  A positive control (gate left open) shows the harness itself refuses nothing.

The local server counts hits on ``/canary``: a refused URL must never reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import socket
import struct
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from bot import fetch
from bot.fetch import Fetcher, FetchError, is_public_address

#: What pytest.raises raises when nothing was raised.
Failed = pytest.fail.Exception
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


# --------------------------------------------------------------------------- harness


class LocalOnlyDNS:
    """A resolver that never leaves the machine and only answers loopback addresses."""

    NAMES: ClassVar[dict[str, str]] = {
        "localhost": "127.0.0.1",
        "localhost.": "127.0.0.1",
        "localhost.localdomain": "127.0.0.1",
        "sub.localhost": "127.0.0.1",
        "public.example": "127.0.0.1",
        "other.example": "127.0.0.1",
        "inside.example": "127.0.0.1",
        "mapped.example": "::ffff:127.0.0.1",
        "v6.example": "::1",
    }

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: int = socket.AF_UNSPEC
    ) -> list[dict[str, Any]]:
        self.asked.append(host)
        address = self.NAMES.get(host.lower())
        if address is None:
            try:
                infos = socket.getaddrinfo(
                    host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST
                )
            except (socket.gaierror, UnicodeError) as exc:
                raise OSError(f"{host!r}: no such name on this test machine") from exc
            address = str(infos[0][4][0])
        ip = ipaddress.ip_address(address)
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        assert ip.is_loopback or (mapped is not None and mapped.is_loopback), address
        af = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        return [
            {"hostname": host, "host": address, "port": port, "family": af, "proto": 0, "flags": 0}
        ]

    async def close(self) -> None:
        pass


@dataclass
class Site:
    """The local server: its port, the paths it served, and the redirect gate."""

    port: int
    hits: list[str] = field(default_factory=list)
    gate_open: bool = True

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def redirect(self, location: str, *, keep_gate: bool = False) -> str:
        """A public-looking first hop that answers 302 with ``location``."""
        keep = "&keep=1" if keep_gate else ""
        return self.url(f"/redirect?to={quote(location, safe='')}{keep}", "public.example")


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> LocalOnlyDNS:
    resolver = LocalOnlyDNS()
    monkeypatch.setattr(fetch, "DefaultResolver", lambda: resolver)
    return resolver


def _loopback_literal(host: str) -> bool | None:
    """True/False for a literal address (is it loopback?), None for a name."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


@pytest.fixture(autouse=True)
def tripwire(monkeypatch: pytest.MonkeyPatch, dns: LocalOnlyDNS) -> list[str]:
    """Fail before connecting anywhere but loopback, or asking the real DNS anything."""
    requested: list[str] = []
    real_get = Fetcher._get

    async def guarded_get(
        self: Fetcher, session: aiohttp.ClientSession, url: str, *, follow: bool
    ) -> bytes:
        requested.append(url)
        try:
            host = URL(url).raw_host or ""
        except ValueError:
            host = ""  # aiohttp refuses it the same way; nothing is connected
        loopback = _loopback_literal(host) if host else True
        if loopback is False:
            raise AssertionError(f"the fetcher was about to connect to {host}, off this machine")
        if loopback is None and (self.allow_private or session is self._discord):
            raise AssertionError(f"{host!r} would be looked up in the real DNS")
        return await real_get(self, session, url, follow=follow)

    monkeypatch.setattr(Fetcher, "_get", guarded_get)
    return requested


@pytest.fixture
async def site(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    stop = asyncio.Event()
    state = Site(port=0)
    real_is_public = fetch.is_public_address

    def gated_is_public(address: str) -> bool:
        if state.gate_open and address == "127.0.0.1":
            return True
        return real_is_public(address)

    monkeypatch.setattr(fetch, "is_public_address", gated_is_public)

    def record(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            state.hits.append(request.path)
            return await handler(request)

        return wrapped

    async def canary(_: web.Request) -> web.Response:
        return web.Response(body=PNG_BYTES, content_type="image/png")

    async def redirect(request: web.Request) -> web.Response:
        if request.query.get("keep") != "1":
            state.gate_open = False
        # Built by hand: aiohttp's HTTPFound would refuse the malformed locations tested here.
        return web.Response(status=302, headers={"Location": request.query["to"]})

    async def loop(_: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/loop"})

    async def nowhere(_: web.Request) -> web.Response:
        return web.Response(status=302)

    async def stream(request: web.Request, chunks: AsyncIterator[bytes], **headers: str) -> Any:
        response = web.StreamResponse(headers=headers)
        with contextlib.suppress(ConnectionError):
            await response.prepare(request)
            async for chunk in chunks:
                await response.write(chunk)
        return response

    async def forever(chunk: bytes, pause: float = 0.0) -> AsyncIterator[bytes]:
        while not stop.is_set():
            yield chunk
            if pause:
                await asyncio.sleep(pause)

    async def finite(chunk: bytes, count: int) -> AsyncIterator[bytes]:
        for _ in range(count):
            yield chunk

    async def chunked_50mb(request: web.Request) -> Any:
        return await stream(request, finite(b"x" * 65536, 800))

    async def endless(request: web.Request) -> Any:
        return await stream(request, forever(b"y" * 65536))

    async def declared_10gb(request: web.Request) -> Any:
        return await stream(
            request, forever(b"z" * 1024, pause=0.01), **{"Content-Length": str(10**10)}
        )

    gzip_bomb = _gzip_zeros(1 << 30)

    async def gzip(_: web.Request) -> web.Response:
        return web.Response(
            body=gzip_bomb, headers={"Content-Encoding": "gzip", "Content-Type": "image/png"}
        )

    async def slow_headers(_: web.Request) -> web.Response:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 30)
        return web.Response(body=PNG_BYTES)

    async def trickle(request: web.Request) -> Any:
        return await stream(request, forever(b"t", pause=0.05))

    app = web.Application()
    for path, handler in {
        "/canary": canary,
        "/redirect": redirect,
        "/loop": loop,
        "/nowhere": nowhere,
        "/chunked-50mb": chunked_50mb,
        "/endless": endless,
        "/declared-10gb": declared_10gb,
        "/gzip-1gb": gzip,
        "/slow-headers": slow_headers,
        "/trickle": trickle,
    }.items():
        app.router.add_get(path, record(handler))
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    state.port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield state
    stop.set()
    await runner.cleanup()


@functools.cache
def _gzip_zeros(size: int) -> bytes:
    """A gzip stream inflating to ``size`` (a multiple of 1 MiB) zero bytes, built fast.

    After a full flush deflate forgets its history, so every 1 MiB block of zeros compresses
    to the same bytes: compress one, repeat it, close the stream by hand.
    """
    block = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert first == again
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = b"\x03\x00" + struct.pack("<II", crc, size & 0xFFFF_FFFF)
    return header + first * (size >> 20) + trailer


@pytest.fixture
async def raw_server() -> AsyncIterator[int]:
    """A bare TCP server that answers HTTP badly, by path; its port."""
    stop = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1]
            if path == b"/lying-length":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                filler = b"w" * 65536
            elif path == b"/endless-headers":
                writer.write(b"HTTP/1.1 200 OK\r\n")
                filler = b"X-Junk: " + b"a" * 100 + b"\r\n"
            else:  # one header line that never ends
                writer.write(b"HTTP/1.1 200 OK\r\nX-Junk: ")
                filler = b"a" * 65536
            while not stop.is_set():
                writer.write(filler)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    stop.set()
    server.close()
    await server.wait_closed()


# --------------------------------------------------------------------------- host forms

#: Hosts that all mean this machine. glibc's inet_aton reads the legacy numeric forms as
#: 127.0.0.1; aiohttp 3.14 refuses the all-digit ones itself ("not a canonical IPv4
#: address") and sends the hex-dotted ones to the resolver, which refuses the answer.
INSIDE_HOSTS = [
    "2130706433",
    "017700000001",
    "0x7f000001",
    "0x7f.0.0.1",
    "0x7F.0x0.0x0.0x1",
    "0177.0.0.1",
    "0177.0000.0000.0001",
    "127.1",
    "127.0.1",
    "0",
    "0.0.0.0",
    "127.0.0.1.",
    "127.127.127.127",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::127.0.0.1]",
    "[::]",
    "[::1%25lo]",
    "localhost",
    "localhost.",
    "LOCALHOST",
    "LocalHost.",
    "sub.localhost",
    "localhost.localdomain",
    "ⓛⓞⓒⓐⓛⓗⓞⓢⓣ",
    "mapped.example",
    "v6.example",
    "example.com@127.0.0.1",
    "user:pass@127.0.0.1",
    "public.example@127.0.0.1",
    "127.0.0.1\\@public.example",
    "127%2E0%2E0%2E1",
]
#: Non-ASCII digits and dots: urlsplit sees a name (so _check_url lets it through to the
#: resolver) but yarl IDNA-normalises it to the literal 127.0.0.1, which aiohttp connects to
#: without asking the resolver. The guard is bypassed.
IDNA_HOSTS = ["１２７.０.０.１", "127。0。0。1", "127．0．0．1", "①②⑦.0.0.1", "１２７.0.0.1"]


@pytest.mark.parametrize(
    "host",
    [*INSIDE_HOSTS, *IDNA_HOSTS],
)
async def test_hosts_meaning_this_machine_are_refused(
    host: str, site: Site, dns: LocalOnlyDNS
) -> None:
    site.gate_open = False
    async with Fetcher(max_bytes=10_000, timeout=5.0) as fetcher:
        with pytest.raises(FetchError):
            await fetcher.user_url(f"http://{host}:{site.port}/canary")
    assert site.hits == []


@pytest.mark.parametrize("host", ["0x7f.0.0.1", "localhost.", "ⓛⓞⓒⓐⓛⓗⓞⓢⓣ", "0x7f.1"])
async def test_names_for_this_machine_are_refused_by_name_or_for_their_answer(
    host: str, site: Site, dns: LocalOnlyDNS
) -> None:
    """Today these pass _check_url as names and the resolver refuses 127.0.0.1; a stricter
    _check_url refusing them outright is as good."""
    site.gate_open = False
    async with Fetcher(max_bytes=10_000, timeout=5.0) as fetcher:
        with pytest.raises(FetchError, match="private or local"):
            await fetcher.user_url(f"http://{host}:{site.port}/canary")
    assert len(dns.asked) <= 1
    assert site.hits == []


@pytest.mark.parametrize("host", ["inside.example", "mapped.example", "v6.example"])
async def test_names_only_dns_knows_are_inside_are_refused_for_their_answer(
    host: str, site: Site, dns: LocalOnlyDNS
) -> None:
    site.gate_open = False
    async with Fetcher(max_bytes=10_000, timeout=5.0) as fetcher:
        with pytest.raises(FetchError, match="private or local"):
            await fetcher.user_url(f"http://{host}:{site.port}/canary")
    assert dns.asked == [host]
    assert site.hits == []


@pytest.mark.parametrize("host", ["127.0.0.1", "[::ffff:127.0.0.1]", "example.com@127.0.0.1"])
async def test_literal_inside_addresses_are_refused_before_any_lookup(
    host: str, site: Site, dns: LocalOnlyDNS, tripwire: list[str]
) -> None:
    site.gate_open = False
    async with Fetcher(max_bytes=10_000, timeout=5.0) as fetcher:
        with pytest.raises(FetchError, match="private or local"):
            await fetcher.user_url(f"http://{host}:{site.port}/canary")
    assert dns.asked == [] and tripwire == []


# --------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("::ffff:8.8.8.8", True),
        ("93.184.216.34", True),
        ("::ffff:169.254.169.254", False),
        ("::ffff:0:7f00:1", False),  # SIIT IPv4-translated
        ("::7f00:1", False),  # IPv4-compatible (deprecated)
        ("::a00:1", False),
        ("64:ff9b::7f00:1", False),  # NAT64 well-known prefix
        ("64:ff9b::a00:1", False),
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b:1::a00:1", False),  # NAT64 local-use prefix
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("2001:db8::1", False),
        ("100::1", False),
        ("::", False),
        ("255.255.255.255", False),
        ("100.100.100.200", False),  # a cloud metadata address in shared space
        ("fd00:ec2::254", False),  # AWS's IPv6 metadata address
        ("192.0.0.170", False),
        ("198.18.0.1", False),
        ("240.0.0.1", False),
        ("fe80::1%eth0", False),
        pytest.param(
            "2002:7f00:1::1",
            False,
        ),
        pytest.param(
            "2002:a9fe:a9fe::1",
            False,
        ),
        pytest.param(
            "fec0::1",
            False,
        ),
    ],
)
def test_more_address_forms(address: str, public: bool) -> None:
    assert is_public_address(address) is public


# --------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com:99999/x.png",
        "http://:80/x.png",
        "http://exa mple.com/x.png",
        "http://%00/x.png",
        "http://[v1.fe]/x.png",
        "http:x.png",
        "",
        pytest.param(
            "http://[::1/x.png",
        ),
        pytest.param(
            "http://[127.0.0.1]/x.png",
        ),
        pytest.param(
            "http://[fe80::1%]/x.png",
        ),
    ],
)
async def test_malformed_urls_give_a_fetch_error(url: str, dns: LocalOnlyDNS) -> None:
    async with Fetcher(max_bytes=10_000, timeout=5.0) as fetcher:
        with pytest.raises(FetchError):
            await fetcher.user_url(url)


# --------------------------------------------------------------------------- redirects


async def test_redirect_harness_lets_a_public_hop_through(site: Site) -> None:
    """Positive control: with the gate open, a redirect to another public name is fetched."""
    async with Fetcher(max_bytes=10_000, timeout=5.0) as fetcher:
        data = await fetcher.user_url(
            site.redirect(site.url("/canary", "other.example"), keep_gate=True)
        )
    assert data == PNG_BYTES
    assert site.hits == ["/redirect", "/canary"]


def _redirect_targets(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/canary",
        f"http://[::ffff:127.0.0.1]:{port}/canary",
        f"http://[::1]:{port}/canary",
        f"http://inside.example:{port}/canary",
        f"http://mapped.example:{port}/canary",
        f"http://0x7f.0.0.1:{port}/canary",
        f"http://2130706433:{port}/canary",
        f"http://localhost.:{port}/canary",
        f"http://example.com@127.0.0.1:{port}/canary",
        f"//127.0.0.1:{port}/canary",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://10.0.0.1/",
        "file:///etc/passwd",
        "ftp://127.0.0.1/x.png",
        "gopher://127.0.0.1:6379/_INFO",
        "dict://127.0.0.1:11211/stat",
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
    ]


REDIRECT_TARGET_IDS = [
    "127.0.0.1",
    "mapped-literal",
    "ipv6-loopback",
    "name-to-loopback",
    "name-to-mapped",
    "hex-dotted",
    "decimal",
    "localhost-dot",
    "userinfo",
    "scheme-relative",
    "metadata",
    "aws-v6-metadata",
    "rfc1918",
    "file",
    "ftp",
    "gopher",
    "dict",
    "javascript",
    "data",
]


@pytest.mark.parametrize("index", range(len(REDIRECT_TARGET_IDS)), ids=REDIRECT_TARGET_IDS)
async def test_redirects_inside_or_to_other_schemes_are_refused(
    index: int, site: Site, tripwire: list[str]
) -> None:
    location = _redirect_targets(site.port)[index]
    async with Fetcher(max_bytes=10_000, timeout=5.0) as fetcher:
        with pytest.raises(FetchError):
            await fetcher.user_url(site.redirect(location))
    assert site.hits == ["/redirect"]
    assert not site.gate_open


@pytest.mark.parametrize(
    "location",
    [
        pytest.param("http://１２７.０.０.１:{port}/canary", id="fullwidth-digits"),
        pytest.param("http://127。0。0。1:{port}/canary", id="ideographic-dots"),
    ],
)
async def test_redirects_to_idna_forms_of_loopback_are_refused(location: str, site: Site) -> None:
    async with Fetcher(max_bytes=10_000, timeout=5.0) as fetcher:
        with pytest.raises(FetchError):
            await fetcher.user_url(site.redirect(location.format(port=site.port)))
    assert site.hits == ["/redirect"]


async def test_a_malformed_redirect_gives_a_fetch_error(site: Site) -> None:
    async with Fetcher(max_bytes=10_000, timeout=5.0) as fetcher:
        with pytest.raises(FetchError):
            await fetcher.user_url(site.redirect("http://[::1"))


async def test_redirect_loops_and_empty_redirects_are_refused(site: Site) -> None:
    async with Fetcher(max_bytes=10_000, timeout=5.0) as fetcher:
        with pytest.raises(FetchError, match="too many"):
            await fetcher.user_url(site.url("/loop", "public.example"))
        with pytest.raises(FetchError, match="nowhere"):
            await fetcher.user_url(site.url("/nowhere", "public.example"))
    assert site.hits.count("/loop") == fetch.MAX_REDIRECTS + 1


async def test_discord_media_redirect_loops_end_in_a_fetch_error(site: Site) -> None:
    async with Fetcher(max_bytes=10_000, timeout=5.0) as fetcher:
        with pytest.raises(FetchError):
            await fetcher.discord_media(site.url("/loop"))


# --------------------------------------------------------------------------- bodies


async def _timed(call: Awaitable[bytes]) -> tuple[bytes | FetchError, float]:
    started = time.perf_counter()
    try:
        result: bytes | FetchError = await call
    except FetchError as exc:
        result = exc
    return result, time.perf_counter() - started


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.parametrize(
    "path",
    ["/chunked-50mb", "/endless", "/declared-10gb", "/gzip-1gb"],
    ids=["50 MB chunked, no length", "never-ending", "declares 10 GB", "gzip inflating to 1 GB"],
)
async def test_the_size_cap_stops_big_and_endless_bodies(path: str, site: Site) -> None:
    resettable = _reset_peak()
    before = _peak_mb()
    async with Fetcher(max_bytes=1_000_000, timeout=10.0, allow_private=True) as fetcher:
        result, elapsed = await _timed(fetcher.user_url(site.url(path)))
    assert isinstance(result, FetchError) and "larger" in str(result), result
    assert elapsed < 3.0
    if resettable:
        assert _peak_mb() - before < 150, "the body was buffered past the cap"


async def test_a_lying_content_length_is_not_read_past(raw_server: int) -> None:
    async with Fetcher(max_bytes=1_000_000, timeout=5.0, allow_private=True) as fetcher:
        result, elapsed = await _timed(
            fetcher.user_url(f"http://127.0.0.1:{raw_server}/lying-length")
        )
    # aiohttp either stops at the declared length or calls the extra bytes an error.
    assert isinstance(result, FetchError) or len(result) == 1000, result
    assert elapsed < 3.0


@pytest.mark.parametrize("path", ["/endless-headers", "/endless-header-line"])
async def test_endless_response_headers_give_a_fetch_error(path: str, raw_server: int) -> None:
    async with Fetcher(max_bytes=1_000_000, timeout=5.0, allow_private=True) as fetcher:
        result, elapsed = await _timed(fetcher.user_url(f"http://127.0.0.1:{raw_server}{path}"))
    assert isinstance(result, FetchError), result
    assert elapsed < 4.0


async def test_the_timeout_stops_a_server_that_never_answers(site: Site) -> None:
    async with Fetcher(max_bytes=1_000_000, timeout=0.5, allow_private=True) as fetcher:
        result, elapsed = await _timed(fetcher.user_url(site.url("/slow-headers")))
    assert isinstance(result, FetchError) and "too long" in str(result), result
    assert elapsed < 2.0


async def test_the_total_timeout_stops_a_body_trickling_forever(site: Site) -> None:
    """One byte every 50 ms: no single read waits long, the total timeout must still end it."""
    async with Fetcher(max_bytes=1_000_000, timeout=1.0, allow_private=True) as fetcher:
        result, elapsed = await _timed(fetcher.user_url(site.url("/trickle")))
    assert isinstance(result, FetchError) and "too long" in str(result), result
    assert 0.9 <= elapsed < 3.0
    # The guarded session (a member's URL) has the same total timeout.
    site.gate_open = True
    async with Fetcher(max_bytes=1_000_000, timeout=1.0) as fetcher:
        result, elapsed = await _timed(fetcher.user_url(site.url("/trickle", "public.example")))
    assert isinstance(result, FetchError) and "too long" in str(result), result
    assert elapsed < 3.0

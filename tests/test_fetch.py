"""Downloads: caps, timeouts, and the public-address guard for member-supplied URLs."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot import fetch
from bot.fetch import Fetcher, FetchError, is_public_address


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def image(_: web.Request) -> web.Response:
        return web.Response(body=b"x" * 1000, content_type="image/png")

    async def big(_: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(_)
        for _i in range(100):
            await response.write(b"x" * 10_000)
        return response

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(body=b"late")

    async def hop(_: web.Request) -> web.Response:
        raise web.HTTPFound("/image")

    app = web.Application()
    app.router.add_get("/image", image)
    app.router.add_get("/big", big)
    app.router.add_get("/slow", slow)
    app.router.add_get("/hop", hop)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("not an address", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "http://[::1]/x.png",
        "http://localhost/x.png",
        "http://10.0.0.5/x.png",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/x.png",
        "http://224.0.0.1/x.png",
        "ftp://example.com/x.png",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http:///nohost",
    ],
)
async def test_user_urls_to_private_places_are_refused(url: str) -> None:
    async with Fetcher(max_bytes=10_000) as fetcher:
        with pytest.raises(FetchError):
            await fetcher.user_url(url)


async def test_names_resolving_to_private_addresses_are_refused(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = int(server.rsplit(":", 1)[1])

    class InsideDNS:
        """Answers every name with a loopback address, as a hostile DNS record would."""

        async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[dict[str, Any]]:
            return [
                {
                    "hostname": host,
                    "host": "127.0.0.1",
                    "port": port,
                    "family": socket.AF_INET,
                    "proto": 0,
                    "flags": 0,
                }
            ]

        async def close(self) -> None:
            pass

    monkeypatch.setattr(fetch, "DefaultResolver", InsideDNS)
    async with Fetcher(max_bytes=10_000) as fetcher:
        with pytest.raises(FetchError, match="private or local"):
            await fetcher.user_url(f"http://images.example.com:{port}/image")
        # A public page redirecting to such a name is refused at the hop too.
        with pytest.raises(FetchError, match="private or local"):
            await fetcher.user_url(f"http://rebind.example.net:{port}/hop")


async def test_size_cap_timeout_and_redirects_when_private_is_allowed(server: str) -> None:
    async with Fetcher(max_bytes=50_000, timeout=1.0, allow_private=True) as fetcher:
        assert len(await fetcher.user_url(f"{server}/image")) == 1000
        assert len(await fetcher.user_url(f"{server}/hop")) == 1000
        with pytest.raises(FetchError, match="larger"):
            await fetcher.user_url(f"{server}/big")
        with pytest.raises(FetchError, match="too long"):
            await fetcher.user_url(f"{server}/slow")
        with pytest.raises(FetchError, match="404"):
            await fetcher.discord_media(f"{server}/missing")

"""Safe downloads: size caps, timeouts, content checks and a private-address guard.

Two kinds of URL reach seenit. Attachment and media-proxy URLs come from Discord itself and
are fetched as given. A URL a member typed is fetched only over http(s) and only when every
address its host resolves to is public; that is checked on the resolved addresses (so DNS
names pointing inside cannot slip through) and again on every redirect hop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from types import TracebackType
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from bot.config import DEFAULTS

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
#: Tries for media Discord serves (its CDN has the odd hiccup); member URLs get one.
DISCORD_ATTEMPTS = 3
RETRY_DELAY = 0.5
USER_AGENT = "seenit (Discord repost finder)"


class FetchError(Exception):
    """A download was refused or failed; ``str()`` is a sentence for the person who asked.

    ``code`` names the reason for other languages (the catalogues' ``reason.fetch.<code>``),
    with ``values`` filling its placeholders.
    """

    def __init__(self, text: str, /, code: str = "", **values: object) -> None:
        super().__init__(text.format(**values) if values else text)
        self.code = code
        self.values = values


class TransientFetchError(FetchError):
    """A failure worth one more try: a server error, a timeout, a dropped connection."""


def is_public_address(address: str) -> bool:
    """Whether an IP address is globally routable unicast (not loopback, private, ...)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None and not is_public_address(str(ip.sixtofour)):
            return False  # 6to4 wrapping an inside IPv4 address
        elif ip.is_site_local:
            return False
    return bool(ip.is_global) and not ip.is_multicast and not ip.is_reserved


class PublicOnlyResolver(AbstractResolver):
    """Resolves like the default resolver, and refuses hosts with any non-public address."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not is_public_address(result["host"]):
                raise FetchError(
                    "{host} points to a private or local address", "private_host", host=host
                )
        return results

    async def close(self) -> None:
        await self._inner.close()


class Fetcher:
    """Downloads bytes with caps; one HTTP session for Discord, one guarded for user URLs."""

    def __init__(
        self,
        *,
        max_bytes: int,
        timeout: float = DEFAULTS.fetch_timeout,
        allow_private: bool = False,
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 10.0))
        self.allow_private = allow_private
        self._discord: aiohttp.ClientSession | None = None
        self._public: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        headers = {"User-Agent": USER_AGENT}
        self._discord = aiohttp.ClientSession(timeout=self.timeout, headers=headers)
        connector = (
            aiohttp.TCPConnector()
            if self.allow_private
            else aiohttp.TCPConnector(resolver=PublicOnlyResolver(), use_dns_cache=False)
        )
        self._public = aiohttp.ClientSession(
            timeout=self.timeout, headers=headers, connector=connector
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for session in (self._discord, self._public):
            if session is not None:
                await session.close()
        self._discord = self._public = None

    async def discord_media(self, url: str) -> bytes:
        """Download an attachment or media-proxy URL that Discord gave us."""
        if self._discord is None:
            raise RuntimeError("the fetcher is not open")
        for attempt in range(DISCORD_ATTEMPTS):
            try:
                return await self._get(self._discord, url, follow=True)
            except TransientFetchError as exc:
                if attempt + 1 == DISCORD_ATTEMPTS:
                    raise
                log.info("retrying %s after: %s", url, exc)
                await asyncio.sleep(RETRY_DELAY * (attempt + 1))
        raise AssertionError("unreachable")

    async def user_url(self, url: str) -> bytes:
        """Download a URL a member supplied, refusing anything but public http(s)."""
        if self._public is None:
            raise RuntimeError("the fetcher is not open")
        for _ in range(MAX_REDIRECTS + 1):
            self._check_url(url)
            try:
                return await self._get(self._public, url, follow=False)
            except _Redirect as hop:
                try:
                    url = urljoin(url, hop.location)
                except ValueError as exc:
                    raise FetchError(
                        "the link redirects to a malformed address", "bad_redirect"
                    ) from exc
        raise FetchError("the link redirects too many times", "redirect_loop")

    def _check_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            # The host as aiohttp will connect to it: yarl IDNA-normalises it, so a name
            # for urlsplit ("１２７.０.０.１") can be an address for the connector.
            host = URL(url).raw_host
        except ValueError as exc:
            raise FetchError("that does not look like a link", "not_a_link") from exc
        if parts.scheme not in ("http", "https"):
            raise FetchError("only http and https links can be fetched", "scheme")
        if not host:
            raise FetchError("the link has no host", "no_host")
        if self.allow_private:
            return
        name = host.lower().rstrip(".")
        try:
            ipaddress.ip_address(name.split("%", 1)[0])
        except ValueError:
            if name == "localhost" or name.endswith(".localhost"):
                raise FetchError(
                    "that link points to a private or local address", "private"
                ) from None
            try:
                socket.inet_aton(name)  # a legacy numeric form: 2130706433, 0x7f.1, 017.1
            except OSError:
                return  # a name: the resolver checks every address it resolves to
            raise FetchError("that link points to a private or local address", "private") from None
        if not is_public_address(name):
            raise FetchError("that link points to a private or local address", "private")

    def _too_large(self) -> FetchError:
        return FetchError(
            "the file is larger than {mb} MB", "too_large", mb=self.max_bytes // 1_000_000
        )

    async def _get(self, session: aiohttp.ClientSession, url: str, *, follow: bool) -> bytes:
        try:
            async with session.get(url, allow_redirects=follow) as response:
                if response.status in (301, 302, 303, 307, 308) and not follow:
                    location = response.headers.get("Location")
                    if not location:
                        raise FetchError("the link redirects nowhere", "redirect_nowhere")
                    raise _Redirect(location)
                if response.status >= 500 or response.status == 429:
                    raise TransientFetchError(
                        "the server answered HTTP {status}", "http_status", status=response.status
                    )
                if response.status != 200:
                    raise FetchError(
                        "the server answered HTTP {status}", "http_status", status=response.status
                    )
                declared = response.content_length
                if declared is not None and declared > self.max_bytes:
                    raise self._too_large()
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self._too_large()
                    chunks.append(chunk)
                return b"".join(chunks)
        except FetchError:
            raise
        except _Redirect:
            raise
        except TimeoutError as exc:
            raise TransientFetchError("the server took too long to answer", "timeout") from exc
        except aiohttp.ClientConnectorError as exc:
            cause: Any = exc.__cause__ or exc.os_error
            if isinstance(cause, FetchError):
                raise cause from exc
            raise TransientFetchError("could not connect to the server", "connect") from exc
        except (aiohttp.ClientError, asyncio.IncompleteReadError, ValueError) as exc:
            if isinstance(exc.__cause__, FetchError):
                raise exc.__cause__ from exc
            raise TransientFetchError("the download failed", "failed") from exc


class _Redirect(Exception):
    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location

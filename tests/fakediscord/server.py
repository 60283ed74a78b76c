"""aiohttp application of the fake: request recording, fault injection, CDN and routing.

Every handler is wrapped by :func:`endpoint`, which parses the body (JSON or
multipart with ``payload_json`` + ``files[n]``), records the request, applies
injected faults and turns :class:`FakeDiscordError` into Discord-style JSON
errors. Responses use ``Content-Type: application/json`` exactly (discord.py
only parses bodies with that exact header, no charset).
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web

from .interactions import FakeDiscordError
from .messages import UploadedFile

if TYPE_CHECKING:
    from .fake import FakeDiscord
    from .records import Fault, RecordedRequest


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response with the exact ``application/json`` content type discord.py expects."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={hdrs.CONTENT_TYPE: "application/json", **(headers or {})},
    )


@functools.cache
def default_avatar_png() -> bytes:
    """A tiny PNG served as every default avatar (``Asset.BASE`` points at the fake)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (88, 101, 242)).save(buf, "PNG")
    return buf.getvalue()


def no_content() -> web.Response:
    return web.Response(status=204)


def error_response(
    status: int, code: int, message: str, errors: dict[str, Any] | None = None
) -> web.Response:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return json_response(body, status=status)


@dataclass
class Ctx:
    """What a route handler gets: the request, path params, parsed body and its record."""

    request: web.Request
    params: dict[str, str]
    json: Any
    files: list[UploadedFile]
    record: RecordedRequest

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body (or ``payload_json``) as a dict; {} when absent."""
        return self.json if isinstance(self.json, dict) else {}

    def param(self, name: str) -> int:
        return int(self.params[name])

    def query_flag(self, name: str) -> bool:
        return self.request.query.get(name, "").lower() in ("1", "true")


Handler = Callable[[Ctx], Awaitable[web.StreamResponse]]


async def _parse_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    if request.method in ("GET", "HEAD") or not request.can_read_body:
        return None, []
    if request.content_type.startswith("multipart/"):
        payload: Any = None
        form: dict[str, str] = {}
        files: list[UploadedFile] = []
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not hasattr(part, "read_chunk"):  # nested multipart: not used by Discord
                continue
            data = await part.read(decode=False)  # type: ignore[union-attr]
            name = part.name or ""  # type: ignore[union-attr]
            filename = part.filename  # type: ignore[union-attr]
            if name == "payload_json":
                payload = json.loads(bytes(data))
            elif filename is not None or name.startswith("file"):
                files.append(
                    UploadedFile(
                        field=name,
                        filename=filename or name,
                        content_type=part.headers.get(hdrs.CONTENT_TYPE),
                        data=bytes(data),
                    )
                )
            else:
                form[name] = bytes(data).decode()
        if payload is None and form:
            payload = form
        return payload, files
    raw = await request.read()
    if not raw:
        return None, []
    try:
        return json.loads(raw), []
    except ValueError:
        return raw.decode(errors="replace"), []


def _fault_response(fault: Fault) -> web.Response:
    if fault.status == 429:
        now = time.time()
        headers = {
            "Retry-After": str(max(1, int(fault.retry_after + 0.999))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{now + fault.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
            "X-RateLimit-Bucket": "fakediscord-fault",
            "X-RateLimit-Scope": "global" if fault.is_global else "user",
            # discord.py treats a 429 without "Via" as a Cloudflare ban and gives up.
            "Via": "1.1 google",
        }
        if fault.is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": fault.retry_after,
            "global": fault.is_global,
            "code": 0,
        }
        return json_response(body, status=429, headers=headers)
    assert fault.status is not None
    return error_response(fault.status, 0, f"{fault.status}: injected by fakediscord")


def endpoint(
    fake: FakeDiscord, handler: Handler, *, known: bool = True
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a :data:`Handler` with parsing, recording, faults and error mapping."""
    from .records import RecordedRequest

    async def wrapped(request: web.Request) -> web.StreamResponse:
        body, files = await _parse_body(request)
        resource = request.match_info.route.resource
        route = resource.canonical if (known and resource is not None) else None
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            json=body,
            files=files,
            route=route,
        )
        fake.requests.append(record)
        fault = fake._take_fault(request.method, request.path)
        response: web.StreamResponse
        try:
            auth = request.headers.get("Authorization")
            if fake.token is not None and auth is not None and auth != f"Bot {fake.token}":
                raise FakeDiscordError(401, 0, "401: Unauthorized")
            if fault is not None and fault.delay:
                await asyncio.sleep(fault.delay)
            if fault is not None and fault.status is not None:
                record.fault = True
                response = _fault_response(fault)
            else:
                ctx = Ctx(request, dict(request.match_info), body, files, record)
                response = await handler(ctx)
        except FakeDiscordError as exc:
            response = error_response(exc.status, exc.code, exc.message, exc.errors)
        except Exception as exc:
            # A bug in the fake: answer 400 (discord.py would retry a 500 for ~16 s) and keep it.
            logging.getLogger(__name__).exception(
                "fakediscord: error handling %s %s", request.method, request.path
            )
            fake.internal_errors.append(exc)
            response = error_response(400, 0, f"fakediscord internal error: {exc!r}")
        record.status = response.status
        fake._notify()
        return response

    return wrapped


def build_app(fake: FakeDiscord) -> web.Application:
    """The aiohttp application: gateway at ``/``, REST under ``/api/v10``, CDN.

    The CDN serves attachments at ``/attachments/...`` (``url``) and
    ``/media/attachments/...`` (``proxy_url``) and default avatars at
    ``/embed/avatars/{n}.png``.
    """
    from .rest import register_routes

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/", fake.gateway.handle)
    register_routes(fake, app.router)

    async def cdn(ctx: Ctx) -> web.StreamResponse:
        blob = fake.store.blobs.get(ctx.param("attachment_id"))
        if blob is None:
            return web.Response(status=404, text="404: Not Found")
        return web.Response(
            body=blob.data, content_type=blob.content_type or "application/octet-stream"
        )

    for prefix in ("/attachments", "/media/attachments"):
        app.router.add_get(prefix + "/{channel_id}/{attachment_id}/{filename}", endpoint(fake, cdn))

    async def default_avatar(ctx: Ctx) -> web.StreamResponse:
        return web.Response(body=default_avatar_png(), content_type="image/png")

    app.router.add_get("/embed/avatars/{index:\\d+}.png", endpoint(fake, default_avatar))

    async def unknown(ctx: Ctx) -> web.StreamResponse:
        return error_response(404, 0, "Unknown")

    app.router.add_route("*", "/{tail:.*}", endpoint(fake, unknown, known=False))
    return app

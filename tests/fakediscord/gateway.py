"""The fake gateway: a websocket endpoint speaking Discord's gateway v10 (JSON, uncompressed).

discord.py asks for ``compress=zlib-stream`` in the URL but handles uncompressed
TEXT frames just as well, so every payload goes out as a plain JSON text frame.

Each IDENTIFY opens a :class:`GatewaySession` whose dispatched events are kept
in a log. A connection writes the log out from its cursor, so events
dispatched while a bot is disconnected are replayed when it RESUMEs, as on
Discord. Sessions end when the bot closes with 1000/1001 or is invalidated.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .state import JSON

if TYPE_CHECKING:
    from .fake import FakeDiscord

# Opcodes
OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

# Intents
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_MESSAGE_CONTENT = 1 << 15

_REPLAY_SKIP = frozenset({"READY", "RESUMED"})


@dataclass
class GatewaySession:
    """One identified gateway session and its event log."""

    session_id: str
    identify: JSON
    log: list[JSON] = field(default_factory=list)
    connection: GatewayConnection | None = None
    alive: bool = True
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def intents(self) -> int:
        return int(self.identify.get("intents") or 0)

    @property
    def seq(self) -> int:
        return len(self.log)

    def push(self, event: str, data: JSON) -> None:
        """Append a dispatch event (op 0) to the log and wake the writer."""
        self.log.append({"op": OP_DISPATCH, "t": event, "s": len(self.log) + 1, "d": data})
        self.wakeup.set()


@dataclass
class GatewayConnection:
    """One websocket connection (before IDENTIFY/RESUME it has no session)."""

    ws: web.WebSocketResponse
    session: GatewaySession | None = None
    cursor: int = 0
    replay_until: int = 0
    closed_by_server: bool = False
    writer: asyncio.Task[None] | None = None
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, payload: JSON) -> None:
        async with self.send_lock:
            if not self.ws.closed:
                await self.ws.send_str(json.dumps(payload))


class Gateway:
    """Websocket endpoint and event dispatcher of the fake."""

    def __init__(self, fake: FakeDiscord) -> None:
        self._fake = fake
        #: heartbeat interval announced in HELLO, in milliseconds
        self.heartbeat_interval_ms = 41250
        #: set False to stop acknowledging heartbeats (zombie-connection tests)
        self.ack_heartbeats = True
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[GatewayConnection] = []
        #: every IDENTIFY payload received (token included), in order
        self.identifies: list[JSON] = []
        #: every RESUME payload received, in order
        self.resumes: list[JSON] = []
        #: every gateway op the clients sent (op, d), for debugging
        self.received: list[tuple[int, Any]] = []
        self.heartbeats = 0
        self.connection_count = 0
        #: path + query of every websocket connection (``/?v=10&encoding=json&compress=...``)
        self.connect_urls: list[str] = []

    # ------------------------------------------------------------------ info

    @property
    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if s.alive]

    @property
    def connected(self) -> bool:
        """True when at least one session has an open websocket."""
        return any(s.connection is not None for s in self.live_sessions)

    @property
    def last_intents(self) -> int | None:
        """Intents of the most recent IDENTIFY, or None before any."""
        if not self.identifies:
            return None
        return int(self.identifies[-1].get("intents") or 0)

    # -------------------------------------------------------------- dispatch

    def dispatch(
        self,
        event: str,
        data: JSON | Callable[[GatewaySession], JSON | None],
        *,
        intent: int | None = None,
    ) -> None:
        """Send a dispatch event to every live session (queued while disconnected).

        ``data`` may be a function of the session returning the payload (or
        None to skip that session), e.g. to strip message content.
        ``intent``: only sessions that asked for this intent get the event.
        """
        for session in self.live_sessions:
            if intent is not None and not session.intents & intent:
                continue
            payload = data(session) if callable(data) else data
            if payload is not None:
                session.push(event, payload)

    # ------------------------------------------------------------ test hooks

    async def drop(self, code: int = 4000) -> int:
        """Close every open connection with ``code`` (resumable unless 1000/1001/4004/...).

        Returns how many connections were closed.
        """
        conns = [c for c in self.connections if not c.ws.closed]
        for conn in conns:
            conn.closed_by_server = True
            await conn.ws.close(code=code, message=b"fake: dropped")
        return len(conns)

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT to every connection (discord.py closes and resumes)."""
        for conn in list(self.connections):
            await conn.send({"op": OP_RECONNECT, "d": None})

    async def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; with ``resumable=False`` the sessions end."""
        for conn in list(self.connections):
            if conn.session is not None and not resumable:
                conn.session.alive = False
            await conn.send({"op": OP_INVALID_SESSION, "d": resumable})

    async def close_all(self) -> None:
        """Close every connection (server shutdown); sessions end."""
        for session in self.sessions.values():
            session.alive = False
        for conn in list(self.connections):
            conn.closed_by_server = True
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=b"fake: shutting down")

    # ------------------------------------------------------------- websocket

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for ``GET /`` upgraded to a websocket."""
        ws = web.WebSocketResponse(max_msg_size=0, timeout=5.0)
        await ws.prepare(request)
        conn = GatewayConnection(ws=ws)
        self.connections.append(conn)
        self.connect_urls.append(str(request.rel_url))
        self.connection_count += 1
        self._fake._notify()
        try:
            await conn.send(
                {"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}
            )
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_payload(conn, json.loads(msg.data))
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            await self._on_closed(conn)
        return ws

    async def _on_closed(self, conn: GatewayConnection) -> None:
        if conn.writer is not None:
            conn.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await conn.writer
        session = conn.session
        if session is not None and session.connection is conn:
            session.connection = None
            if not conn.closed_by_server and conn.ws.close_code in (1000, 1001):
                session.alive = False
        if conn in self.connections:
            self.connections.remove(conn)
        self._fake._notify()

    async def _on_payload(self, conn: GatewayConnection, payload: JSON) -> None:
        op = payload.get("op")
        data = payload.get("d")
        self.received.append((int(op) if op is not None else -1, data))
        if op == OP_HEARTBEAT:
            self.heartbeats += 1
            if self.ack_heartbeats:
                await conn.send({"op": OP_HEARTBEAT_ACK, "d": None})
        elif op == OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == OP_RESUME:
            await self._resume(conn, data or {})
        elif op == OP_REQUEST_GUILD_MEMBERS:
            self._request_members(conn, data or {})
        # presence and voice updates are accepted silently
        self._fake._notify()

    async def _identify(self, conn: GatewayConnection, data: JSON) -> None:
        self.identifies.append(data)
        session = GatewaySession(session_id=secrets.token_hex(16), identify=data)
        self.sessions[session.session_id] = session
        self._attach(conn, session, cursor=0)
        ready = self._fake._ready_payload(session)
        if "shard" in data:
            ready["shard"] = data["shard"]
        session.push("READY", ready)
        for guild_payload in self._fake._guild_create_payloads():
            session.push("GUILD_CREATE", guild_payload)

    async def _resume(self, conn: GatewayConnection, data: JSON) -> None:
        self.resumes.append(data)
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or not session.alive:
            await conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        old = session.connection
        if old is not None and old is not conn:
            old.closed_by_server = True
            with contextlib.suppress(Exception):
                await old.ws.close(code=4000)
        seq = int(data.get("seq") or 0)
        self._attach(conn, session, cursor=min(seq, session.seq), replay_until=session.seq)
        session.push("RESUMED", {})

    def _attach(
        self,
        conn: GatewayConnection,
        session: GatewaySession,
        *,
        cursor: int,
        replay_until: int = 0,
    ) -> None:
        conn.session = session
        conn.cursor = cursor
        conn.replay_until = replay_until
        session.connection = conn
        conn.writer = asyncio.create_task(self._write_loop(conn, session))

    async def _write_loop(self, conn: GatewayConnection, session: GatewaySession) -> None:
        """Send the session's log from the connection's cursor, forever."""
        while not conn.ws.closed:
            session.wakeup.clear()
            while conn.cursor < len(session.log):
                index = conn.cursor
                conn.cursor += 1
                entry = session.log[index]
                if index < conn.replay_until and entry["t"] in _REPLAY_SKIP:
                    continue
                try:
                    await conn.send(entry)
                except (ConnectionError, RuntimeError):
                    return
            await session.wakeup.wait()

    def _request_members(self, conn: GatewayConnection, data: JSON) -> None:
        if conn.session is None:
            return
        guild = self._fake.state_guild(int(data["guild_id"]))
        members = list(guild.members.values()) if guild is not None else []
        query = data.get("query")
        if query:
            members = [m for m in members if m.user.username.lower().startswith(query.lower())]
        user_ids = data.get("user_ids")
        if user_ids:
            wanted = {int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
            members = [m for m in members if m.id in wanted]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        payload: JSON = {
            "guild_id": str(data["guild_id"]),
            "members": [m.to_payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            payload["nonce"] = data["nonce"]
        conn.session.push("GUILD_MEMBERS_CHUNK", payload)

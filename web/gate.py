"""The gate: the only way to Prefect's UI and API, each person with their own account.

An ASGI app that reverse-proxies everything (the UI's pages and assets, ``/api``, the API's
websockets) to a Prefect server listening where nobody else reaches it. Every request carries
HTTP basic credentials of an account (models/operators.py): a browser gets the basic-auth
challenge for the UI; Prefect's own clients (workers, flows, the dispatcher, the intake, the
CLI) send ``PREFECT_API_AUTH_STRING=name:password``, which Prefect turns into the same header.
The UI is told that the server wants basic auth (``/ui-settings``), so its own login page
(``/login``; "name:password" as the password) also works, e.g. to act as another person.

What an account may do is decided by models/rules/access.py: destructive calls are for
admins; a resume (``POST /api/flow_runs/{id}/resume``) is checked against the wait the run is
on (its pause key) and, for a sign-off, against who made the decision (four eyes). The gate
then stamps the person's name into the run input as ``actor``, over anything typed, so the
flow knows who answered. Refused calls get 403 and reach nothing: the run stays paused.

A checked credential is remembered for :data:`REMEMBER_SECONDS` (an argon2 check costs tens of
milliseconds and 64 MiB; the UI makes dozens of calls a page): a disabled account or a new
password takes effect within that time. The gate logs nothing: run inputs may hold what a
person typed.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from contextlib import asynccontextmanager, suppress

import httpx
import websockets
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.typing import Subprotocol

from deployments.registry import registry_for
from models.db import unit_of_work
from models.rules.access import AccountRole, may_call
from models.settings import Settings, get_settings
from services import accounts
from services.accounts import Caller
from web import desk_entry_view, documents_view, identity_view, incidents_view, register_view

REMEMBER_SECONDS = 30.0
CHALLENGE = {"WWW-Authenticate": 'Basic realm="madoguchi", charset="UTF-8"'}
OPEN_PATHS = frozenset({"/api/health", "/api/ready"})  # probes: no data, Prefect leaves them open too
RESUME = re.compile(r"/flow_runs/(?P<id>[^/]+)/resume")  # any spelling of the id Prefect accepts
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "authorization",
    }
)
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class Gate:
    """``upstream``: the Prefect server's root URL (``http://127.0.0.1:4201``); ``upstream_auth``:
    the ``name:password`` that server requires (``PREFECT_SERVER_API_AUTH_STRING``), so that
    only the gate reaches it; ``settings``: the app database with the accounts."""

    def __init__(self, upstream: str, *, settings: Settings | None = None, upstream_auth: str | None = None):
        self.upstream = upstream.rstrip("/")
        self.settings = settings or get_settings()
        self.upstream_auth = upstream_auth
        self._client: httpx.AsyncClient | None = None
        self._remembered: dict[bytes, tuple[float, Caller]] = {}
        self._checking: dict[bytes, asyncio.Future] = {}
        self._key = secrets.token_bytes(32)  # remembered credentials are kept as HMACs only

    def app(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(_app):
            async with httpx.AsyncClient(
                base_url=self.upstream, timeout=httpx.Timeout(120, connect=5)
            ) as client:
                self._client = client
                yield

        return Starlette(
            routes=[
                *documents_view.routes(self.caller, settings=self.settings, challenge=CHALLENGE),
                *register_view.routes(self.caller, settings=self.settings, challenge=CHALLENGE),
                *incidents_view.routes(self.caller, settings=self.settings, challenge=CHALLENGE),
                *desk_entry_view.routes(
                    self.caller,
                    settings=self.settings,
                    challenge=CHALLENGE,
                    registry=lambda: registry_for(self.settings),
                ),
                *identity_view.routes(
                    self.caller,
                    settings=self.settings,
                    challenge=CHALLENGE,
                    registry=lambda: registry_for(self.settings),
                ),
                Route("/{path:path}", self.http, methods=_METHODS),
                WebSocketRoute("/{path:path}", self.websocket),
            ],
            lifespan=lifespan,
        )

    @property
    def client(self) -> httpx.AsyncClient:
        """The connection pool to Prefect, open while the app runs (its lifespan)."""
        if self._client is None:
            raise RuntimeError("the gate's app is not running: no client to Prefect")
        return self._client

    # --- who is calling -----------------------------------------------------------------------

    async def caller(self, authorization: str | None) -> Caller | None:
        """The enabled account the ``Authorization: Basic …`` header names, else None."""
        if not authorization:
            return None
        key = hmac.new(self._key, authorization.encode(), hashlib.sha256).digest()
        remembered = self._remembered.get(key)
        if remembered and remembered[0] > time.monotonic():
            return remembered[1]
        checking = self._checking.get(key)  # a page's many calls with one header: one argon2 check
        if checking is None:
            checking = self._checking[key] = asyncio.ensure_future(
                run_in_threadpool(self._check, authorization)
            )
            checking.add_done_callback(lambda _: self._checking.pop(key, None))
        found = await asyncio.shield(checking)
        if found is not None:
            if len(self._remembered) > 4096:
                self._remembered.clear()
            self._remembered[key] = (time.monotonic() + REMEMBER_SECONDS, found)
        return found

    def _check(self, authorization: str) -> Caller | None:
        scheme, _, encoded = authorization.partition(" ")
        try:
            name, colon, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except ValueError:
            return None
        if scheme.lower() != "basic" or not colon:
            return None
        with unit_of_work(self.settings) as session:
            return accounts.login(session, name, password)

    # --- HTTP ---------------------------------------------------------------------------------

    async def http(self, request: Request) -> Response:
        path = request.url.path
        if _dot_segments(path):
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        if not (request.method == "GET" and path in OPEN_PATHS):
            caller = await self.caller(request.headers.get("authorization"))
            if caller is None:
                if path == "/api" or path.startswith("/api/"):  # the UI shows its login page on this
                    return JSONResponse({"exception_message": "Unauthorized"}, status_code=401)
                return PlainTextResponse("Unauthorized", status_code=401, headers=CHALLENGE)
            verdict = may_call(caller.role, request.method, path.removeprefix("/api"))
            if not verdict.allowed:
                return JSONResponse({"detail": verdict.reason}, status_code=403)
            if request.method == "POST" and (resume := RESUME.fullmatch(path.removeprefix("/api"))):
                return await self.resume(request, caller, resume["id"])
            if path.endswith("/ui-settings"):
                return await self.ui_settings(request)
        return await self.forward(request, await request.body())

    async def forward(self, request: Request, body: bytes, target: str | None = None) -> Response:
        """Pass the request on (to ``target`` instead of its own path and query, if given)."""
        headers = [
            (k, v) for k, v in request.headers.items() if k not in _HOP_BY_HOP and k != "content-length"
        ]
        if self.upstream_auth:
            headers.append(("authorization", _basic(self.upstream_auth)))
        if target is None:
            target = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
            if request.url.query:
                target += f"?{request.url.query}"
        upstream = await self.client.send(
            self.client.build_request(request.method, target, headers=headers, content=body), stream=True
        )
        response = StreamingResponse(
            upstream.aiter_raw(), status_code=upstream.status_code, background=BackgroundTask(upstream.aclose)
        )
        response.raw_headers = [
            (k, v) for k, v in upstream.headers.raw if k.decode("latin-1").lower() not in _HOP_BY_HOP
        ]
        return response

    async def ui_settings(self, request: Request) -> Response:
        """Prefect's UI settings, saying that the API wants basic auth and lives behind this gate
        (the server itself would name its own, unguarded address)."""
        upstream = await self.client.get(request.url.path, headers=self._upstream_headers())
        if upstream.status_code != 200:
            return Response(upstream.content, status_code=upstream.status_code)
        found = upstream.json()
        found.update(auth="BASIC", api_url=str(request.base_url).rstrip("/") + "/api")
        return JSONResponse(found)

    async def resume(self, request: Request, caller: Caller, flow_run_id: str) -> Response:
        """Check the wait the run is on, stamp the caller's name into the input, resume the run
        that was checked (by the id Prefect gave back, however the caller spelled it)."""
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("run_input"), (dict, type(None))):
            return JSONResponse(
                {
                    "detail": [
                        {
                            "loc": ["body", "run_input"],
                            "field": "run_input",
                            "msg": "an object or null",
                            "type": "type_error",
                        }
                    ]
                },
                status_code=422,
            )
        run = await self.client.get(f"/api/flow_runs/{flow_run_id}", headers=self._upstream_headers())
        if run.status_code != 200:
            return Response(run.content, status_code=run.status_code, media_type="application/json")
        run = run.json()
        state = run.get("state") or {}
        if state.get("type") != "PAUSED":  # as Prefect answers it, without asking it to resume anything
            return JSONResponse(
                {
                    "state": None,
                    "status": "ABORT",
                    "details": {
                        "type": "abort_details",
                        "reason": "Cannot resume a flow run that is not paused.",
                    },
                }
            )
        pause_key = (state.get("state_details") or {}).get("pause_key") or ""
        verdict = await run_in_threadpool(
            accounts.resume_verdict, self.settings, caller, pause_key, run["id"]
        )
        if not verdict.allowed:
            return JSONResponse({"detail": verdict.reason}, status_code=403)
        if caller.role is not AccountRole.SERVICE:
            body["run_input"] = {**(body.get("run_input") or {}), "actor": caller.name}
        return await self.forward(request, json.dumps(body).encode(), f"/api/flow_runs/{run['id']}/resume")

    def _upstream_headers(self) -> dict[str, str]:
        return {"authorization": _basic(self.upstream_auth)} if self.upstream_auth else {}

    # --- websockets (the API's event and log streams) -----------------------------------------

    async def websocket(self, client: WebSocket) -> None:
        """Prefect's streams authenticate with the header, or with a first ``{"type": "auth",
        "token": "name:password"}`` message (the "prefect" subprotocol); the token is replaced
        with the upstream's own before it is passed on."""
        if _dot_segments(client.url.path):
            await client.close(code=1008)
            return
        caller = await self.caller(client.headers.get("authorization"))
        prefect_protocol = "prefect" in client.scope.get("subprotocols", [])
        if caller is None and not prefect_protocol:
            await client.close(code=1008)
            return
        await client.accept(subprotocol="prefect" if prefect_protocol else None)
        first = None
        if prefect_protocol:
            try:
                first = json.loads(await client.receive_text())
            except (ValueError, WebSocketDisconnect):
                first = None
            if not isinstance(first, dict) or first.get("type") != "auth":
                await client.close(code=1008, reason="expected an auth message")
                return
            token = first.get("token")
            if caller is None and isinstance(token, str):
                caller = await self.caller(_basic(token))
            first["token"] = self.upstream_auth
        if caller is None:
            await client.close(code=1008, reason="Unauthorized")
            return
        stream = client.url.path.removeprefix("/api")  # a stream in (events) writes like a POST
        if not may_call(
            caller.role, "POST" if stream.endswith("/in") else "GET", stream.removesuffix("/in")
        ).allowed:
            await client.close(code=1008, reason="Forbidden")
            return
        url = re.sub(r"^http", "ws", self.upstream) + client.url.path
        if client.url.query:
            url += f"?{client.url.query}"
        async with websockets.connect(
            url,
            subprotocols=[Subprotocol("prefect")] if prefect_protocol else None,
            additional_headers=self._upstream_headers(),
        ) as upstream:
            if first is not None:
                await upstream.send(json.dumps(first))
            await _pump(client, upstream)


async def _pump(client: WebSocket, upstream) -> None:
    """Pass messages both ways until either side closes."""

    async def inbound():
        while True:
            message = await client.receive()
            if message["type"] == "websocket.disconnect":
                return
            await upstream.send(message["bytes"] if message.get("bytes") is not None else message["text"])

    async def outbound():
        async for message in upstream:
            await (client.send_bytes if isinstance(message, bytes) else client.send_text)(message)

    tasks = [asyncio.ensure_future(inbound()), asyncio.ensure_future(outbound())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with suppress(RuntimeError, WebSocketDisconnect):  # the client closed first
            await client.close()


def _dot_segments(path: str) -> bool:
    """``/api/../api/x`` or ``//x``: the URL sent on would be normalised into another path than
    the one the rules were checked against. Prefect's own paths never look like this."""
    segments = path.split("/")[1:]
    return any(s in (".", "..") for s in segments) or "" in segments[:-1]


def _basic(credential: str) -> str:
    return "Basic " + base64.b64encode(credential.encode()).decode()


def create_gate(
    upstream: str, *, settings: Settings | None = None, upstream_auth: str | None = None
) -> Starlette:
    """The gate as an ASGI app, e.g. ``uvicorn.run(create_gate("http://127.0.0.1:4201"), port=4200)``."""
    return Gate(upstream, settings=settings, upstream_auth=upstream_auth).app()


def gate_from_settings() -> Starlette:
    """The gate `madoguchi up` runs (``uvicorn --factory web.gate:gate_from_settings``): in front
    of the Prefect server on the internal port, holding the service credential it requires."""
    settings = get_settings()
    return create_gate(
        settings.prefect_api_url.removesuffix("/api"),
        settings=settings,
        upstream_auth=settings.service_auth(),
    )

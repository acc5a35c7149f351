"""What keeps the intake service safe to expose: rate limits per client and per address, CSRF
on the HTML forms, and an access log that names routes, never paths or query strings (a
reference, an unsubscribe token or an address must not land in a log)."""

import hmac
import logging
import secrets
import threading
import time
from collections import deque

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

log = logging.getLogger("madoguchi.access")
CSRF_COOKIE = "madoguchi_csrf"
TOO_LARGE = "the request body is too large"


class RateLimiter:
    """Sliding-window counters in memory, per (bucket, key). One intake process per desk is
    the deployment this is for; several processes would each count on their own."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def hit(
        self, bucket: str, key: str, *, limit: int, window_seconds: float, now: float | None = None
    ) -> float | None:
        """Count one hit; ``None`` when allowed, else the seconds until the next one is."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault((bucket, key), deque())
            while hits and hits[0] <= now - window_seconds:
                hits.popleft()
            if len(hits) >= limit:
                return hits[0] + window_seconds - now
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle keys rather than grow without end
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - window_seconds}
            return None


def enforce(limiter: RateLimiter, bucket: str, key: str, *, limit: int, window_seconds: float) -> None:
    wait = limiter.hit(bucket, key, limit=limit, window_seconds=window_seconds)
    if wait is not None:
        raise HTTPException(
            status_code=429,
            detail=f"too many requests ({bucket}); try again later",
            headers={"Retry-After": str(max(1, int(wait + 0.999)))},
        )


def nul_fields(value, path: tuple = ()) -> list[tuple]:
    """Where a NUL character sits in a model's data (PostgreSQL's text cannot hold one)."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in nul_fields(item, (*path, key))]
    if isinstance(value, list | tuple):
        return [found for i, item in enumerate(value) for found in nul_fields(item, (*path, i))]
    return []


def refuse_nul(model: BaseModel) -> None:
    """A NUL character is invalid input, refused next to its field like any other, not a 500
    when PostgreSQL refuses it at commit (SQLite would have stored it)."""
    found = nul_fields(model.model_dump(mode="json"))
    if found:
        raise ValidationError.from_exception_data(
            type(model).__name__,
            [
                InitErrorDetails(
                    type=PydanticCustomError("string_nul", "must not contain a NUL character"),
                    loc=loc,
                    input="",
                )
                for loc in found
            ],
        )


class BodyLimit:
    """A request body over ``max_bytes`` is a 413: said so by its Content-Length, or counted as
    it streams in when it has none (chunked), before anything reads past the cap. Plain ASGI:
    the count wraps ``receive``, which an ``http`` middleware cannot do."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            return await JSONResponse({"detail": TOO_LARGE}, status_code=413)(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # answered by the app's HTTPException handler
                    raise HTTPException(status_code=413, detail=TOO_LARGE)
            return message

        await self.app(scope, counted, send)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def csrf_token(request: Request) -> str:
    """The token of this browser (double-submit cookie), made on its first page."""
    return request.cookies.get(CSRF_COOKIE) or request.state.__dict__.setdefault(
        "new_csrf", secrets.token_urlsafe(24)
    )


def set_csrf_cookie(request: Request, response) -> None:
    new = request.state.__dict__.get("new_csrf")
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict", max_age=12 * 3600)


def csrf_ok(request: Request, submitted) -> bool:
    """Compared as bytes: ``compare_digest`` refuses a non-ASCII str (a 500, not a 403); a
    file sent in the token's place is no token."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not (cookie and isinstance(submitted, str) and submitted):
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())


class AccessLog:
    """Method, route template, status, milliseconds; and no-store on every answer (tokens).
    Plain ASGI, like :class:`BodyLimit`: an ``http`` middleware costs each request a task
    group and memory streams, a fifth of a status look's CPU (bench/README.md)."""

    HEADERS = (
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    )

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), 500

        async def with_headers(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in self.HEADERS if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
        log.info(
            "%s %s %s %.1fms",
            scope["method"],
            getattr(scope.get("route"), "path", "-"),
            status,
            (time.perf_counter() - started) * 1000,
        )


class NulPath:
    """A path with a NUL character names nothing: 404 (PostgreSQL would refuse the query)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and "\x00" in scope.get("path", ""):
            return await JSONResponse({"detail": "not found"}, status_code=404)(scope, receive, send)
        await self.app(scope, receive, send)

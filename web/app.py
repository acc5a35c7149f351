"""The intake service as one FastAPI app: ``create_app(settings)``; served by ``madoguchi up``
(uvicorn, access log replaced by :class:`web.guards.AccessLog`) and by the tests in-process."""

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from disclosure import download
from mail import optout, webhook
from models.settings import Settings, get_settings
from web import api, contact, pages, policy
from web.actions import NotFound
from web.guards import AccessLog, BodyLimit, NulPath

MAX_BODY_BYTES = 11 * 1024 * 1024  # a 10 MB document and its multipart envelope


def field_errors(exc: RequestValidationError) -> list[dict]:
    """Pydantic's errors without the input echoed back (it may be personal data)."""
    errors = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        field = ".".join(loc[1:] if loc[:1] == ["body"] else loc) or "body"
        errors.append(
            {
                "loc": loc,
                "field": field,
                "msg": error.get("msg", "invalid"),
                "type": error.get("type", "value_error"),
            }
        )
    return errors


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="madoguchi intake",
        version="1",
        summary="Personal-information requests "
        "(APPI Arts. 32–35): the request form, the requester's status and the JSON API.",
    )
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: settings

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": field_errors(exc)}, status_code=422)

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, _exc: NotFound):
        return JSONResponse({"detail": "not found"}, status_code=404)

    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(NulPath)
    app.add_middleware(AccessLog)  # added last: the outermost, it logs every answer
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(contact.router)
    app.include_router(policy.router)
    app.include_router(optout.router, dependencies=[Depends(api.writes)])
    app.include_router(webhook.router)
    app.include_router(download.router)
    return app

"""The JSON API of docs/contract.md. Every write commits before it is answered; a requester's
action that a waiting flow run needs wakes the run after the answer has gone out, so a slow
or absent Prefect never slows intake down."""

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import text

from models.db import unit_of_work, utcnow
from models.requests import RequestCreate
from models.settings import Settings, get_settings
from services import documents, inquiries, intake
from web import actions
from web.guards import RateLimiter, client_of, enforce, refuse_nul

router = APIRouter()
bearer = HTTPBearer(auto_error=False, description="The status token given when the request was submitted")
limiter = RateLimiter()

_CODE_MESSAGES = {
    "wrong": "the code is not correct",
    "expired": "the code has expired",
    "exhausted": "this code has no attempts left: ask for a new code",
    "refused": "no attempts are left: identity could not be verified",
}


class SubmittedOut(BaseModel):
    reference: str
    status: str
    status_token: str = Field(description="Shown once; only its hash is kept")


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=32, description="The one-time code from the email")


class ClarificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


def storable(body: BaseModel) -> None:
    """A body with a NUL character is a 422 like any other field error (see refuse_nul)."""
    try:
        refuse_nul(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


def writes(request: Request, settings: Settings = Depends(get_settings)) -> None:
    """Per-client limit on every write."""
    enforce(limiter, "writes", client_of(request), limit=settings.intake_rate_per_client, window_seconds=60)


def per_address(settings: Settings, email: str) -> None:
    """Per-address limit: intake mails every submission's address, and must not become a way
    to flood someone's inbox."""
    enforce(
        limiter, "address", email.strip().lower(), limit=settings.intake_rate_per_email, window_seconds=3600
    )


class Caller:
    """The reference's bearer token, and a per-client limit on failed lookups (guessing)."""

    def __init__(
        self,
        request: Request,
        settings: Settings = Depends(get_settings),
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> None:
        self.request, self.settings = request, settings
        self.token = credentials.credentials if credentials else None

    @classmethod
    def with_token(cls, request: Request, settings: Settings, token: str | None) -> "Caller":
        """For the HTML pages, whose token comes in a form field."""
        caller = cls(request, settings, None)
        caller.token = token
        return caller

    def __call__(self, action, reference: str, *args, **kwargs):
        try:
            return action(self.settings, reference, self.token, *args, **kwargs)
        except actions.NotFound:
            enforce(
                limiter,
                "lookups",
                client_of(self.request),
                limit=self.settings.intake_rate_per_client,
                window_seconds=60,
            )
            raise


def _then_wake(background: BackgroundTasks, caller: Caller, reference: str, done: actions.Done) -> None:
    if done.wake:
        background.add_task(actions.wake_run, caller.settings, reference)


def field_error(field: str, message: str, kind: str, **extra) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"loc": ["body", field], "field": field, "msg": message, "type": kind}], **extra},
        status_code=422,
    )


_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Unknown reference or wrong token"}}


@router.post(
    "/api/requests",
    status_code=201,
    response_model=SubmittedOut,
    tags=["requests"],
    dependencies=[Depends(writes)],
    responses={422: {"description": "Field errors"}, 429: {"description": "Too many requests"}},
)
def submit_request(body: RequestCreate, settings: Settings = Depends(get_settings)) -> SubmittedOut:
    storable(body)
    per_address(settings, str((body.requester or body.principal).email))
    with unit_of_work(settings) as session:
        done = intake.submit(session, settings, body, now=utcnow(), channel="web")
    return SubmittedOut(reference=done.reference, status="received", status_token=done.status_token)


@router.get("/api/requests/{reference}", tags=["requests"], responses=_NOT_FOUND)
def request_status(reference: str, lang: str | None = None, caller: Caller = Depends()) -> dict:
    return caller(actions.view, reference, lang if lang in ("ja", "en") else None)


@router.post(
    "/api/requests/{reference}/identity-code",
    tags=["requests"],
    dependencies=[Depends(writes)],
    responses={
        **_NOT_FOUND,
        409: {"description": "No code is awaited"},
        422: {"description": "Wrong or expired code"},
    },
)
def identity_code(reference: str, body: CodeIn, background: BackgroundTasks, caller: Caller = Depends()):
    storable(body)
    done = caller(actions.enter_code, reference, body.code)
    _then_wake(background, caller, reference, done)
    if done.result in ("verified", "already_verified"):
        return {"reference": reference, "result": done.result}
    if done.result == "no_code":
        return JSONResponse(
            {"detail": "this request is not waiting for a one-time code", "result": done.result},
            status_code=409,
        )
    return field_error("code", _CODE_MESSAGES[done.result], f"code_{done.result}", result=done.result)


@router.post(
    "/api/requests/{reference}/identity-code/resend",
    tags=["requests"],
    dependencies=[Depends(writes)],
    responses={**_NOT_FOUND, 409: {"description": "No new code"}},
)
def resend_identity_code(reference: str, background: BackgroundTasks, caller: Caller = Depends()):
    """A new code after the last expired or ran out of attempts (three codes at most)."""
    done = caller(actions.resend_code, reference)
    _then_wake(background, caller, reference, done)
    return JSONResponse(
        {"reference": reference, "result": done.result}, status_code=200 if done.result == "issued" else 409
    )


@router.post(
    "/api/requests/{reference}/documents",
    status_code=201,
    tags=["requests"],
    dependencies=[Depends(writes)],
    responses={**_NOT_FOUND, 422: {"description": "Rejected file"}},
)
def upload_document(
    reference: str,
    background: BackgroundTasks,
    kind: str = Form(..., description=", ".join(documents.KINDS)),
    file: UploadFile = File(..., description="PDF, JPEG or PNG, at most 10 MB"),
    caller: Caller = Depends(),
):
    data = file.file.read(documents.MAX_BYTES + 1)
    try:
        done = caller(actions.upload, reference, kind=kind, content_type=file.content_type or "", data=data)
    except documents.DocumentRejected as exc:
        return field_error(exc.field, str(exc), "document_rejected")
    _then_wake(background, caller, reference, done)
    return {"reference": reference, "document_id": done.document_id}


@router.post(
    "/api/requests/{reference}/clarification",
    tags=["requests"],
    dependencies=[Depends(writes)],
    responses={**_NOT_FOUND, 409: {"description": "No question is open"}},
)
def answer_clarification(
    reference: str, body: ClarificationIn, background: BackgroundTasks, caller: Caller = Depends()
):
    storable(body)
    done = caller(actions.clarify, reference, body.text)
    if done.result != "answered":
        return JSONResponse({"detail": "no question is waiting for an answer"}, status_code=409)
    _then_wake(background, caller, reference, done)
    return {"reference": reference, "result": done.result}


@router.post(
    "/api/requests/{reference}/withdraw",
    tags=["requests"],
    dependencies=[Depends(writes)],
    responses={**_NOT_FOUND, 409: {"description": "Already ended"}},
)
def withdraw(reference: str, background: BackgroundTasks, caller: Caller = Depends()):
    done = caller(actions.withdraw, reference)
    if done.result != "withdrawn":
        return JSONResponse({"detail": "this request has already ended"}, status_code=409)
    _then_wake(background, caller, reference, done)
    return {"reference": reference, "status": "withdrawn"}


@router.post(
    "/api/inquiries",
    status_code=201,
    tags=["inquiries"],
    dependencies=[Depends(writes)],
    responses={422: {"description": "Field errors"}, 429: {"description": "Too many requests"}},
)
def open_inquiry(body: inquiries.InquiryCreate, settings: Settings = Depends(get_settings)) -> dict:
    """An inquiry or a complaint; the answer comes by email (the reference is in it)."""
    storable(body)
    per_address(settings, str(body.email))
    with unit_of_work(settings) as session:
        reference = inquiries.open_inquiry(session, settings, body, now=utcnow(), channel="web")
    return {"reference": reference, "status": "open"}


@router.get("/healthz", tags=["service"])
def healthz(settings: Settings = Depends(get_settings)) -> dict:
    with unit_of_work(settings) as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}

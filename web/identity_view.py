"""The help desk's identity pages on the gate (web/gate.py), in Japanese, for the postal and
phone routes of docs/rules.md §4 (models/rules/access.py: ``may_view_documents``, the people
who judge identity):

- ``/desk/requests/{reference}/callback``: the number the customer record holds, to call back,
  and the details the request matched on; only here, never in Prefect (the call-back form on
  the waiting run links to it). Each opening audited;
- ``/desk/requests/{reference}/identity-document``: the scan of a copy of an identity document
  that came by post, attached by the person logged in (checked and sealed as an agent's
  upload), which wakes the run waiting for it.

Plain forms, every POST checked against the page's CSRF token like the desk's entry page."""

from collections.abc import Callable

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from models.db import unit_of_work, utcnow
from models.rules.access import may_view_documents
from models.rules.deadlines import JST
from models.settings import Settings
from services import documents, identity
from services.common import RequestNotFound
from systems.registry import Registry
from web.actions import wake_run
from web.documents_view import PRIVATE, Check, desk_person
from web.guards import csrf_ok
from web.pages import page
from web.register_view import POLICY

FIELDS = {"email": "メールアドレス", "login_id": "ログインID", "phone": "電話番号", "company": "会社名"}


def _page(request: Request, name: str, *, status: int = 200, **context) -> Response:
    response = page(request, name, "ja", status=status, jst=JST, **context)
    response.headers.update({**PRIVATE, "Content-Security-Policy": POLICY})
    return response


def routes(
    caller: Check, *, settings: Settings, challenge: dict[str, str], registry: Callable[[], Registry]
) -> list[Route]:
    """The call-back sheet and the attachment of a posted copy; ``caller`` and ``challenge`` as
    the document viewer's, ``registry`` gives the systems the customer record is read from."""

    async def person(request: Request) -> str | Response:
        return await desk_person(request, caller, may_view_documents, challenge)

    async def callback(request: Request) -> Response:
        actor = await person(request)
        if isinstance(actor, Response):
            return actor
        try:
            sheet = await run_in_threadpool(
                _sheet, settings, registry(), request.path_params["reference"], actor
            )
        except LookupError:  # no such request, or not checked by phone
            return PlainTextResponse("Not Found", status_code=404, headers=PRIVATE)
        return _page(request, "desk_callback.html", person=actor, sheet=sheet, fields=FIELDS)

    async def document_form(request: Request) -> Response:
        actor = await person(request)
        if isinstance(actor, Response):
            return actor
        return _page(
            request, "desk_identity_document.html", person=actor, reference=request.path_params["reference"]
        )

    async def attach(request: Request) -> Response:
        actor = await person(request)
        if isinstance(actor, Response):
            return actor
        reference = request.path_params["reference"]
        form = await request.form()
        again = {"person": actor, "reference": reference}
        if not csrf_ok(request, form.get("csrf_token")):
            return _page(request, "desk_identity_document.html", status=403, error="csrf", **again)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return _page(request, "desk_identity_document.html", status=422, error="file", **again)
        data = await upload.read()
        try:
            received = await run_in_threadpool(
                _attach, settings, reference, upload.content_type or "", data, actor
            )
        except RequestNotFound:
            return PlainTextResponse("Not Found", status_code=404, headers=PRIVATE)
        except documents.DocumentRejected as exc:
            return _page(
                request, "desk_identity_document.html", status=422, error="file", problem=str(exc), **again
            )
        response = _page(request, "desk_identity_document.html", done=received.document_id, **again)
        if received.resumed:
            response.background = BackgroundTask(wake_run, settings, reference)
        return response

    return [
        Route("/desk/requests/{reference}/callback", callback, methods=["GET"]),
        Route("/desk/requests/{reference}/identity-document", document_form, methods=["GET"]),
        Route("/desk/requests/{reference}/identity-document", attach, methods=["POST"]),
    ]


def _sheet(settings: Settings, registry: Registry, reference: str, actor: str) -> identity.CallbackSheet:
    with unit_of_work(settings) as session:
        return identity.callback_sheet(
            session, settings, reference, registry=registry, actor=actor, now=utcnow()
        )


def _attach(
    settings: Settings, reference: str, content_type: str, data: bytes, actor: str
) -> documents.Received:
    with unit_of_work(settings) as session:
        return documents.attach_identity_document(
            session, settings, reference, content_type=content_type, data=data, actor=actor, now=utcnow()
        )

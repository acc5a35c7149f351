"""madoguchi's own pages on the gate (web/gate.py): an agent's uploaded documents, listed for a
request and each shown decrypted, for the operator who judges them in the identity review and
the officer who signs off a refusal (models/rules/access.py: ``may_view_documents``).

Under ``/desk``, a prefix Prefect never uses, mounted before the gate's proxy: the same basic
credentials as the Prefect UI, so the review form's relative links open here. Every page is
audited with the person's name and nothing else; nothing is cached, the file is shown inline
by the type its bytes were checked to be, under a policy that runs no script."""

from collections.abc import Awaitable, Callable
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from models.db import unit_of_work, utcnow
from models.rules.access import AccountRole, Verdict, may_view_documents
from models.rules.deadlines import JST
from models.settings import Settings
from services import documents
from services.accounts import Caller
from services.common import RequestNotFound
from web.pages import labels_of

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(default=True)
)
# No script anywhere: the list page has one inline style block, a file is shown by the
# browser's own viewer (an image in a sandbox too; Chrome refuses to show a sandboxed PDF).
_POLICY = "default-src 'none'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
PAGE_POLICY = f"{_POLICY}; style-src 'unsafe-inline'"
FILE_POLICY = {
    "application/pdf": f"{_POLICY}; object-src 'self'",
    "image/jpeg": f"{_POLICY}; sandbox",
    "image/png": f"{_POLICY}; sandbox",
}
PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


Check = Callable[[str | None], Awaitable[Caller | None]]


async def desk_person(
    request: Request, caller: Check, rule: Callable[[AccountRole], Verdict], challenge: dict[str, str]
) -> str | Response:
    """``<role>:<name>`` of the account calling, for the audit, when ``rule`` lets its role in;
    else the answer refusing the request (401 with the challenge, 403 with the rule's reason)."""
    found = await caller(request.headers.get("authorization"))
    if found is None:
        return PlainTextResponse("Unauthorized", status_code=401, headers={**challenge, **PRIVATE})
    verdict = rule(found.role)
    if not verdict.allowed:
        return PlainTextResponse(verdict.reason, status_code=403, headers=PRIVATE)
    return f"{found.role}:{found.name}"


def routes(caller: Check, *, settings: Settings, challenge: dict[str, str]) -> list[Route]:
    """The viewer's routes; ``caller`` is the gate's check of an ``Authorization`` header (an
    account or None), ``challenge`` its basic-auth challenge."""

    async def person(request: Request) -> str | Response:
        return await desk_person(request, caller, may_view_documents, challenge)

    async def listing(request: Request) -> Response:
        actor = await person(request)
        if isinstance(actor, Response):
            return actor
        reference = request.path_params["reference"]
        try:
            found = await run_in_threadpool(_listed, settings, reference, actor)
        except RequestNotFound:
            return PlainTextResponse("Not Found", status_code=404, headers=PRIVATE)
        html = _env.get_template("desk_documents.html").render(
            reference=reference,
            documents=found,
            kinds=labels_of("ja").document_kinds,
            jst=JST,
        )
        return HTMLResponse(html, headers={**PRIVATE, "Content-Security-Policy": PAGE_POLICY})

    async def file(request: Request) -> Response:
        actor = await person(request)
        if isinstance(actor, Response):
            return actor
        found = await run_in_threadpool(_opened, settings, request.path_params["document_id"], actor)
        if found is None:
            return PlainTextResponse("Not Found", status_code=404, headers=PRIVATE)
        document, data = found
        return Response(
            data,
            media_type=document.content_type,
            headers={
                **PRIVATE,
                "Content-Security-Policy": FILE_POLICY[document.content_type],
                "Content-Disposition": f'inline; filename="document-{document.id}{_SUFFIX[document.content_type]}"',
            },
        )

    return [
        Route("/desk/requests/{reference}/documents", listing, methods=["GET"]),
        Route("/desk/documents/{document_id:int}", file, methods=["GET"]),
    ]


_SUFFIX = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


def _listed(settings: Settings, reference: str, actor: str):
    with unit_of_work(settings) as session:
        return documents.of_request(session, settings, reference, actor=actor, now=utcnow())


def _opened(settings: Settings, document_id: int, actor: str):
    with unit_of_work(settings) as session:
        return documents.opened(session, settings, document_id, actor=actor, now=utcnow())

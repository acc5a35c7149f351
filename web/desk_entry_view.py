"""The help desk's pages on the gate (web/gate.py), behind the same login as the Prefect UI
(models/rules/access.py: ``may_enter_requests``), in Japanese (issue 15 §1):

- ``/desk/requests/new``: a request received by phone, post, at the counter or by email,
  entered with the public form's fields (web/pages.py, the same validation and field errors)
  plus the channel, the day it was received and how it is acknowledged; the person logged in
  is named in the audit, never a typed name (services/intake.enter); a principal calling or
  writing without an email is found in the customer master by login ID or phone;
- ``/desk/letters``: the letters to print (every notice of a request answered by post,
  services/notices.py), each as a PDF, with the disclosure package to enclose when the data
  goes by post, and a
  button to mark it sent, with Japan Post's tracking number for a registered one; both audited.

Plain forms, every POST checked against the page's CSRF token like the public form's."""

from collections.abc import Callable
from datetime import date

from pydantic import ValidationError
from sqlmodel import select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from models.db import unit_of_work, utcnow
from models.letters import Letter, letter_key
from models.requests import Request as RequestRow
from models.requests import RequestCreate
from models.rules.access import may_enter_requests
from models.rules.deadlines import JST, jst_date
from models.rules.entry import Acknowledgement, Channel
from models.rules.registered_mail import REGISTERED_KINDS
from models.settings import Settings
from services import intake, letters
from systems.registry import Registry
from web.actions import wake_run
from web.documents_view import PRIVATE, Check, desk_person
from web.guards import csrf_ok, refuse_nul
from web.pages import body_from_form, field_errors, form_field, labels_of, page
from web.register_view import POLICY

CHANNELS = {"phone": "電話", "post": "郵送", "counter": "窓口", "email": "メール"}  # Channel, in its order


def _page(request: Request, name: str, *, status: int = 200, **context) -> Response:
    response = page(request, name, "ja", status=status, **context)
    response.headers.update({**PRIVATE, "Content-Security-Policy": POLICY})
    return response


def _rejected(exc: intake.EntryRejected, labels) -> dict[str, str]:
    """The entry's problems next to their fields on the form."""
    return {
        (field := form_field(tuple(name.split(".")))): labels.errors[f"{field}:{code}"]
        for name, code in exc.problems.items()
    }


def _entry_errors(form, labels, registry: Registry) -> tuple[RequestCreate | None, dict, dict[str, str]]:
    """The request body and the entry's own fields from the form, and the errors by field; an
    email left out is taken from the customer record when the entry allows it."""
    errors: dict[str, str] = {}
    entry = {
        "channel": form.get("channel"),
        "received_on": None,
        "acknowledgement": form.get("acknowledgement") or Acknowledgement.EMAIL,
        "found_by": (),
    }
    try:
        entry["channel"] = Channel(entry["channel"])
    except ValueError:
        errors["channel"] = labels.errors["channel:enum"]
    try:
        entry["acknowledgement"] = Acknowledgement(entry["acknowledgement"])
    except ValueError:
        errors["acknowledgement"] = labels.errors["enum"]
    try:
        entry["received_on"] = date.fromisoformat(str(form.get("received_on") or ""))
    except ValueError:
        errors["received_on"] = labels.errors["received_on:required"]
    body = body_from_form(form, str(form.get("language") or "ja"))
    if isinstance(entry["channel"], Channel):
        try:
            body, entry["found_by"] = intake.with_registered_email(body, entry["channel"], registry)
        except intake.EntryRejected as exc:
            errors.update(_rejected(exc, labels))
    data = None
    try:
        data = RequestCreate.model_validate(body)
        refuse_nul(data)
    except ValidationError as exc:
        errors = {**field_errors(exc, labels), **errors}
    return data, entry, errors


def routes(
    caller: Check, *, settings: Settings, challenge: dict[str, str], registry: Callable[[], Registry]
) -> list[Route]:
    """The entry page and the letters; ``caller`` and ``challenge`` as the document viewer's,
    ``registry`` gives the customer master an email left out is taken from."""

    async def person(request: Request) -> str | Response:
        return await desk_person(request, caller, may_enter_requests, challenge)

    async def entry_form(request: Request) -> Response:
        actor = await person(request)
        if isinstance(actor, Response):
            return actor
        return _page(
            request,
            "desk_entry.html",
            person=actor,
            values={},
            errors={},
            channels=CHANNELS,
            today=jst_date(utcnow()).isoformat(),
        )

    async def enter(request: Request) -> Response:
        actor = await person(request)
        if isinstance(actor, Response):
            return actor
        form = await request.form()
        labels = labels_of("ja")
        again = {
            "person": actor,
            "values": dict(form),
            "channels": CHANNELS,
            "today": jst_date(utcnow()).isoformat(),
            "chosen_grounds": form.getlist("ground_codes"),
        }
        if not csrf_ok(request, form.get("csrf_token")):
            return _page(request, "desk_entry.html", status=403, errors={"form": "csrf"}, **again)
        data, entry, errors = await run_in_threadpool(lambda: _entry_errors(form, labels, registry()))
        if data is not None and not errors:
            try:
                done, letter = await run_in_threadpool(_enter, settings, data, entry, actor)
            except intake.EntryRejected as exc:
                errors = _rejected(exc, labels)
        if errors:
            return _page(request, "desk_entry.html", status=422, errors=errors, **again)
        return _page(
            request,
            "desk_entry.html",
            person=actor,
            values={},
            errors={},
            channels=CHANNELS,
            today=jst_date(utcnow()).isoformat(),
            done=done,
            letter=letter,
        )

    async def letter_list(request: Request) -> Response:
        actor = await person(request)
        if isinstance(actor, Response):
            return actor
        return _page(
            request,
            "desk_letters.html",
            person=actor,
            letters=await run_in_threadpool(_to_print, settings),
            jst=JST,
            registered=REGISTERED_KINDS,
            errors={},
        )

    async def letter_pdf(request: Request) -> Response:
        actor = await person(request)
        if isinstance(actor, Response):
            return actor
        made = await run_in_threadpool(
            _printed,
            settings,
            request.path_params["letter_id"],
            actor,
            request.url.path.endswith("package.pdf"),
        )
        if made is None:
            return PlainTextResponse("Not Found", status_code=404, headers=PRIVATE)
        return Response(
            made.data,
            media_type="application/pdf",
            headers={**PRIVATE, "Content-Disposition": f'inline; filename="{made.filename}"'},
        )

    async def sent(request: Request) -> Response:
        actor = await person(request)
        if isinstance(actor, Response):
            return actor
        form = await request.form()
        if not csrf_ok(request, form.get("csrf_token")):
            return PlainTextResponse(
                "the page has expired: reload it and try again", status_code=403, headers=PRIVATE
            )
        tracking = str(form.get("tracking_number") or "")
        try:
            marked = await run_in_threadpool(
                _mark_sent, settings, request.path_params["letter_id"], actor, tracking
            )
        except letters.TrackingNumberMissing:
            return _page(
                request,
                "desk_letters.html",
                status=422,
                person=actor,
                letters=await run_in_threadpool(_to_print, settings),
                jst=JST,
                registered=REGISTERED_KINDS,
                errors={request.path_params["letter_id"]: "tracking_number"},
            )
        if marked is None:
            return PlainTextResponse("Not Found", status_code=404, headers=PRIVATE)
        return RedirectResponse(
            "/desk/letters",
            status_code=303,
            headers=PRIVATE,
            background=BackgroundTask(_wake, settings, request.path_params["letter_id"]),
        )

    return [
        Route("/desk/requests/new", entry_form, methods=["GET"]),
        Route("/desk/requests/new", enter, methods=["POST"]),
        Route("/desk/letters", letter_list, methods=["GET"]),
        Route("/desk/letters/{letter_id:int}.pdf", letter_pdf, methods=["GET"]),
        Route("/desk/letters/{letter_id:int}/package.pdf", letter_pdf, methods=["GET"]),
        Route("/desk/letters/{letter_id:int}/sent", sent, methods=["POST"]),
    ]


def _enter(
    settings: Settings, data: RequestCreate, entry: dict, actor: str
) -> tuple[intake.Submitted, Letter | None]:
    with unit_of_work(settings) as session:
        done = intake.enter(session, settings, data, actor=actor, now=utcnow(), **entry)
        letter = session.exec(
            select(Letter).where(Letter.idempotency_key == letter_key(done.reference, "acknowledgement"))
        ).first()
        if letter is not None:
            session.expunge(letter)
    return done, letter


def _to_print(settings: Settings):
    with unit_of_work(settings) as session:
        found = letters.to_print(session)
        session.expunge_all()
    return found


def _printed(settings: Settings, letter_id: int, actor: str, enclosure: bool = False):
    """The letter, or the package it encloses."""
    with unit_of_work(settings) as session:
        made = letters.enclosure if enclosure else letters.printed
        return made(session, settings, letter_id, actor=actor, now=utcnow())


def _wake(settings: Settings, letter_id: int) -> None:
    """The request's run may wait for the letter (flows/lifecycle.letters_posted)."""
    with unit_of_work(settings) as session:
        reference = session.get_one(RequestRow, session.get_one(Letter, letter_id).request_id).reference
    wake_run(settings, reference)


def _mark_sent(settings: Settings, letter_id: int, actor: str, tracking: str):
    with unit_of_work(settings) as session:
        return letters.mark_sent(session, settings, letter_id, actor=actor, now=utcnow(), tracking=tracking)

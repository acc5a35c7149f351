"""The HTML side of intake: the request form (Japanese at ``/``, English at ``?lang=en``), the
requester's status page and its actions. Plain forms that work without JavaScript, errors
shown next to their fields, every POST checked against the page's CSRF token. The same
validation (``RequestCreate``) and the same actions as the JSON API."""

from pathlib import Path

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from models.db import unit_of_work, utcnow
from models.requests import RequestCreate
from models.rules.vocabulary import GroundCode, RequestType, Role
from models.settings import Settings, get_settings
from services import documents, intake
from web import actions, api
from web.guards import csrf_ok, csrf_token, refuse_nul, set_csrf_cookie

router = APIRouter(include_in_schema=False)
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
PARTY = ("name", "email", "phone", "company", "login_id")
ACTIONS = ("code", "resend", "documents", "clarification", "withdraw")


def language(value: object) -> str:
    """English when asked for, by a query or a form's field (of any type), else Japanese."""
    return "en" if value == "en" else "ja"


def labels_of(lang: str):
    return _env.get_template(f"labels/{lang}.j2").module


def page(request: Request, name: str, lang: str, *, status: int = 200, **context) -> HTMLResponse:
    html = _env.get_template(name).render(
        lang=lang,
        t=labels_of(lang),
        csrf=csrf_token(request),
        request_types=list(RequestType),
        roles=list(Role),
        ground_codes=list(GroundCode),
        document_kinds=documents.KINDS,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    set_csrf_cookie(request, response)
    return response


def body_from_form(form, lang: str) -> dict:
    """The JSON body of docs/contract.md from the form's flat fields; empty fields are left out so
    that a missing value reads "required", not "not a string"."""

    def given(**values):
        return {k: v.strip() if isinstance(v, str) else v for k, v in values.items() if v not in (None, "")}

    body = given(request_type=form.get("request_type"), language=lang)
    body["principal"] = given(**{k: form.get(f"principal_{k}") for k in PARTY})
    role = form.get("role") or Role.PRINCIPAL.value
    if role != Role.PRINCIPAL.value:
        body["requester"] = {"role": role, **given(**{k: form.get(f"requester_{k}") for k in PARTY[:3]})}
    details = given(
        scope=form.get("scope"),
        delivery=form.get("delivery"),
        postal_address=form.get("postal_address"),
        grounds=form.get("grounds"),
    )
    details["include_third_party_records"] = form.get("include_third_party_records") == "on"
    details["ground_codes"] = form.getlist("ground_codes")
    correction = given(
        field=form.get("correction_field"),
        current=form.get("correction_current"),
        requested=form.get("correction_requested"),
    )
    if correction:
        details["corrections"] = [correction]
    body["details"] = details
    return body


def form_field(loc: tuple) -> str:
    """Where on the form an error of ``RequestCreate`` belongs."""
    parts = [str(p) for p in loc]
    if parts[:2] == ["requester", "role"]:
        return "role"  # the form's field is "role", not "requester_role"
    if parts[:1] in (["principal"], ["requester"]) and len(parts) > 1:
        return f"{parts[0]}_{parts[1]}"
    if parts[:2] == ["details", "corrections"]:
        return f"correction_{parts[-1]}" if len(parts) > 3 else "correction_requested"
    if parts[:1] == ["details"] and len(parts) > 1:
        return parts[1]
    return parts[0] if parts else "form"


def field_errors(exc: ValidationError, labels) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = form_field(error["loc"])
        message = (
            labels.errors.get(f"{field}:{error['type']}") or labels.errors.get(error["type"]) or error["msg"]
        )
        errors.setdefault(field, message)
    return errors


@router.get("/", response_class=HTMLResponse)
def request_form(request: Request, lang: str | None = None):
    return page(request, "form.html", language(lang), values={}, errors={})


@router.post("/", response_class=HTMLResponse)
async def submit_form(request: Request, settings: Settings = Depends(get_settings)):
    form = await request.form()
    lang = language(form.get("language"))
    if not csrf_ok(request, form.get("csrf_token")):
        return page(request, "form.html", lang, status=403, values=dict(form), errors={"form": "csrf"})
    api.writes(request, settings)
    try:
        data = RequestCreate.model_validate(body_from_form(form, lang))
        refuse_nul(data)
    except ValidationError as exc:
        return page(
            request,
            "form.html",
            lang,
            status=422,
            values=dict(form),
            errors=field_errors(exc, labels_of(lang)),
            chosen_grounds=form.getlist("ground_codes"),
        )
    api.per_address(settings, str((data.requester or data.principal).email))
    with unit_of_work(settings) as session:
        done = intake.submit(session, settings, data, now=utcnow(), channel="web")
    return page(request, "submitted.html", lang, reference=done.reference, token=done.status_token)


@router.get("/status", response_class=HTMLResponse)
def status_lookup(request: Request, lang: str | None = None, reference: str = ""):
    return page(request, "lookup.html", language(lang), reference=reference[:32])


@router.get("/requests/{reference}", response_class=HTMLResponse)
@router.get("/requests/{reference}/documents", response_class=HTMLResponse)
@router.get("/requests/{reference}/payment", response_class=HTMLResponse)
def linked_lookup(request: Request, reference: str, lang: str | None = None):
    """Links in our mail carry the reference, never the token: the requester types that."""
    return page(request, "lookup.html", language(lang), reference=reference[:32])


@router.post("/status", response_class=HTMLResponse)
@router.post("/status/{action}", response_class=HTMLResponse)
async def status_page(
    request: Request,
    background: BackgroundTasks,
    action: str | None = None,
    settings: Settings = Depends(get_settings),
):
    form = await request.form()
    lang = language(form.get("language"))
    reference, token = str(form.get("reference", "")).strip()[:32], str(form.get("token", "")).strip()
    if not csrf_ok(request, form.get("csrf_token")) or (action and action not in ACTIONS):
        return page(request, "lookup.html", lang, status=403, reference=reference, error="csrf")
    caller = api.Caller.with_token(request, settings, token)
    notice = None
    try:
        if action:
            api.writes(request, settings)
            notice = await _act(caller, action, reference, form)
            if notice.wake:
                background.add_task(actions.wake_run, settings, reference)
        view = caller(actions.view, reference, lang)
    except actions.NotFound:
        return page(request, "lookup.html", lang, status=404, reference=reference, error="not_found")
    except documents.DocumentRejected as exc:
        notice = actions.Done(f"rejected_{exc.reason or exc.field}")
        view = caller(actions.view, reference, lang)
    return page(
        request,
        "status.html",
        lang,
        view=view,
        reference=reference,
        token=token,
        notice=notice.result if notice else None,
    )


async def _act(caller: api.Caller, action: str, reference: str, form) -> actions.Done:
    if action == "code":
        return caller(actions.enter_code, reference, str(form.get("code", ""))[:32])
    if action == "resend":
        return caller(actions.resend_code, reference)
    if action == "clarification":
        text = str(form.get("text", "")).strip()[:4000]
        if "\x00" in text:
            return actions.Done("invalid_text")
        return caller(actions.clarify, reference, text) if text else actions.Done("empty_text")
    if action == "withdraw":
        return caller(actions.withdraw, reference)
    upload = form.get("file")
    data = await upload.read(documents.MAX_BYTES + 1) if hasattr(upload, "read") else b""
    return caller(
        actions.upload,
        reference,
        kind=str(form.get("kind", "")),
        content_type=getattr(upload, "content_type", "") or "",
        data=data,
    )

"""The inquiry form and the marketing opt-out form: the HTML side of ``POST /api/inquiries``
and ``POST /api/opt-out``, for people without an unsubscribe link at hand. Same validation,
same services, the same CSRF check as the request form."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from mail.optout import OptOutIn, opt_out
from models.db import unit_of_work, utcnow
from models.settings import Settings, get_settings
from services import inquiries
from web import api
from web.guards import csrf_ok, refuse_nul
from web.pages import field_errors, labels_of, language, page

router = APIRouter(include_in_schema=False)
INQUIRY_FIELDS = ("kind", "name", "email", "body", "request_reference")


@router.get("/inquiry", response_class=HTMLResponse)
def inquiry_form(request: Request, lang: str | None = None):
    return page(request, "inquiry.html", language(lang), values={}, errors={})


@router.post("/inquiry", response_class=HTMLResponse)
async def send_inquiry(request: Request, settings: Settings = Depends(get_settings)):
    form = await request.form()
    lang = language(form.get("language"))
    values = {k: str(form.get(k, "")) for k in INQUIRY_FIELDS}
    if not csrf_ok(request, form.get("csrf_token")):
        return page(request, "inquiry.html", lang, status=403, values=values, errors={"form": "csrf"})
    api.writes(request, settings)
    try:
        data = inquiries.InquiryCreate.model_validate(
            {"language": lang, **{k: v.strip() for k, v in values.items() if v.strip()}}
        )
        refuse_nul(data)
    except ValidationError as exc:
        return page(
            request,
            "inquiry.html",
            lang,
            status=422,
            values=values,
            errors=field_errors(exc, labels_of(lang)),
        )
    api.per_address(settings, str(data.email))
    with unit_of_work(settings) as session:
        reference = inquiries.open_inquiry(session, settings, data, now=utcnow(), channel="web")
    return page(request, "inquiry.html", lang, values={}, errors={}, reference=reference)


@router.get("/opt-out", response_class=HTMLResponse)
def opt_out_form(request: Request, lang: str | None = None):
    return page(request, "opt_out.html", language(lang), values={}, errors={})


@router.post("/opt-out", response_class=HTMLResponse)
async def send_opt_out(request: Request, settings: Settings = Depends(get_settings)):
    """The same answer whether or not we know the address (it tells nobody who is a customer)."""
    form = await request.form()
    lang = language(form.get("language"))
    values = {"email": str(form.get("email", ""))}
    if not csrf_ok(request, form.get("csrf_token")):
        return page(request, "opt_out.html", lang, status=403, values=values, errors={"form": "csrf"})
    api.writes(request, settings)
    try:
        data = OptOutIn.model_validate({"email": values["email"].strip()})
        refuse_nul(data)
    except ValidationError as exc:
        return page(
            request,
            "opt_out.html",
            lang,
            status=422,
            values=values,
            errors=field_errors(exc, labels_of(lang)),
        )
    with unit_of_work(settings) as session:
        opt_out(session, str(data.email), "opt_out_form", utcnow(), settings=settings)
    return page(request, "opt_out.html", lang, values={}, errors={}, done=True)

"""The privacy policy's pages: ``/policy`` shows the version in force today, ``/policy/{version}``
any published version (a proposal is not shown before the officer approved it). The request
form, the notices and the disclosure package link here."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from models.db import unit_of_work, utcnow
from models.policy import PUBLISHED, version_in_force
from models.rules.deadlines import jst_date
from models.settings import Settings, get_settings
from services import policy as service
from web.pages import language, page

router = APIRouter(include_in_schema=False)


@router.get("/policy", response_class=HTMLResponse)
def current(request: Request, lang: str | None = None, settings: Settings = Depends(get_settings)):
    return _show(request, settings, language(lang), None)


@router.get("/policy/{version}", response_class=HTMLResponse)
def one(request: Request, version: int, lang: str | None = None, settings: Settings = Depends(get_settings)):
    return _show(request, settings, language(lang), version)


def _show(request: Request, settings: Settings, lang: str, version: int | None) -> HTMLResponse:
    now = utcnow()
    with unit_of_work(settings) as session:
        published = [v for v in service.versions(session) if v.status == PUBLISHED]
        in_force = version_in_force(session, now)
    shown = next((v for v in published if v.version == (version or in_force)), None)
    return page(
        request,
        "policy.html",
        lang,
        status=200 if shown else 404,
        shown=shown,
        published=published,
        in_force=in_force,
        today=jst_date(now),
    )

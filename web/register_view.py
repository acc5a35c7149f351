"""The privacy officer's page of the request register (開示等請求管理台帳, issue 15) on the gate,
beside the document viewer (web/documents_view.py) and behind the same login: the summary
per month by type and result with on-time rates and its chart, and the register of a period
to download as CSV or XLSX, with the requesters' names when asked for. Only the officer
(models/rules/access.py: ``may_read_register``); every download is audited with their name.

A bad period or format is answered 422 with the field it concerns, never a 500."""

from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from models.db import unit_of_work, utcnow
from models.rules.access import may_read_register
from models.rules.deadlines import jst_date
from models.settings import Settings
from services import register
from web.documents_view import PRIVATE, Check, desk_person

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(default=True)
)
# The page's own forms (the period, the download) submit to the page: form-action 'self'.
POLICY = (
    "default-src 'none'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'; "
    "style-src 'unsafe-inline'"
)


def period(request: Request) -> tuple[date | None, date | None, dict[str, list[str]]]:
    """The ``from`` and ``to`` of the query (a year by default), and what is wrong with them:
    a day is None when the problems name it."""
    days: list[date | None] = []
    for name, fallback in zip(
        ("from", "to"), register.recent_months(jst_date(utcnow()), register.PAGE_MONTHS), strict=False
    ):
        given = request.query_params.get(name, "")
        try:
            days.append(date.fromisoformat(given) if given else fallback)
        except ValueError:
            days.append(None)  # period_problems names it
    return days[0], days[1], register.period_problems(*days)


def _invalid(problems: dict[str, list[str]]) -> Response:
    detail = [
        {"field": field, "msg": msg, "type": "value_error"}
        for field, msgs in problems.items()
        for msg in msgs
    ]
    return JSONResponse({"detail": detail}, status_code=422, headers=PRIVATE)


def routes(caller: Check, *, settings: Settings, challenge: dict[str, str]) -> list[Route]:
    """The page, its chart and its download; ``caller`` and ``challenge`` as the viewer's."""

    async def page(request: Request) -> Response:
        actor = await desk_person(request, caller, may_read_register, challenge)
        if isinstance(actor, Response):
            return actor
        start, end, problems = period(request)
        tallies = []
        if not problems and start is not None and end is not None:
            tallies = await run_in_threadpool(_summary, settings, start, end)
        headings, rows = register.summary_table(tallies)
        html = _env.get_template("desk_register.html").render(
            start=start,
            end=end,
            problems=problems,
            headings=headings,
            rows=rows,
            percent=register.percent,
            words=register.words("ja"),
            colours=register.COLOURS,
        )
        return HTMLResponse(
            html, status_code=422 if problems else 200, headers={**PRIVATE, "Content-Security-Policy": POLICY}
        )

    async def chart(request: Request) -> Response:
        actor = await desk_person(request, caller, may_read_register, challenge)
        if isinstance(actor, Response):
            return actor
        start, end, problems = period(request)
        if problems or start is None or end is None:
            return _invalid(problems)
        png = register.chart_png(await run_in_threadpool(_summary, settings, start, end))
        return Response(png, media_type="image/png", headers=PRIVATE)

    async def download(request: Request) -> Response:
        actor = await desk_person(request, caller, may_read_register, challenge)
        if isinstance(actor, Response):
            return actor
        start, end, problems = period(request)
        suffix = "." + request.query_params.get("format", "csv")
        if suffix not in register.FORMATS:
            problems["format"] = [f"one of {', '.join(s.removeprefix('.') for s in register.FORMATS)}"]
        if problems or start is None or end is None:
            return _invalid(problems)
        with_names = request.query_params.get("with_names") in ("1", "on", "true")
        made = await run_in_threadpool(_export, settings, start, end, suffix, actor, with_names)
        return Response(
            made.data,
            media_type=made.media_type,
            headers={**PRIVATE, "Content-Disposition": f'attachment; filename="{made.filename}"'},
        )

    return [
        Route("/desk/register", page, methods=["GET"]),
        Route("/desk/register/chart.png", chart, methods=["GET"]),
        Route("/desk/register/export", download, methods=["GET"]),
    ]


def _summary(settings: Settings, start: date, end: date):
    with unit_of_work(settings) as session:
        return register.summary(session, start, end, now=utcnow())


def _export(settings: Settings, start: date, end: date, suffix: str, actor: str, with_names: bool):
    with unit_of_work(settings) as session:
        return register.export(
            session, settings, start, end, suffix=suffix, actor=actor, now=utcnow(), with_names=with_names
        )

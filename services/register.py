"""The request register (開示等請求管理台帳, issue 15): the requests received in a period, one
line each, as CSV or XLSX, and the summary per month with its chart (a PNG), for
``madoguchi register export``, the privacy officer's page on the gate (web/register_view.py)
and the daily digest.

The rules of a line and of the summary are models/rules/register.py; the words (column
headings, a code's label) are templates/register.<lang>.toml. A line holds references, codes,
dates and amounts; names only when asked for, and every export is audited with who made it."""

import base64
import csv
import io
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

from openpyxl import Workbook
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlmodel import Session, col

from models.audit import AuditEvent
from models.requests import Fee, Party, Request
from models.rules.deadlines import JST, jst_date
from models.rules.register import STAGES, TIMELINESS, Entry, Tally, channel_of, summarize
from models.rules.vocabulary import Role, Status
from models.settings import Settings
from services.common import audit

TEMPLATES = Path(__file__).parent / "templates"
FORMATS = {
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
LANGUAGES = ("ja", "en")


@cache
def words(lang: str = "ja") -> dict:
    """The register's words in ``lang`` (templates/register.<lang>.toml)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; expected one of {LANGUAGES}")
    return tomllib.loads((TEMPLATES / f"register.{lang}.toml").read_text("utf-8"))


def period_problems(start: date | None, end: date | None) -> dict[str, list[str]]:
    """What is wrong with a period, by field (``from``, ``to``); empty when it is usable."""
    problems: dict[str, list[str]] = {}
    for name, day in (("from", start), ("to", end)):
        if day is None:
            problems[name] = ["a date (YYYY-MM-DD) is required"]
    if start and end and end < start:
        problems["to"] = ["must not be before from"]
    return problems


def _received_within(start: date, end: date):
    """Requests received from ``start`` to ``end`` inclusive, by Japan's calendar."""
    lo = datetime.combine(start, time(), JST)
    hi = datetime.combine(end + timedelta(days=1), time(), JST)
    return (col(Request.received_at) >= lo, col(Request.received_at) < hi)


def entries(session: Session, start: date, end: date, *, with_names: bool = False) -> list[Entry]:
    """The register's lines for the requests received in the period, oldest first: the
    request rows, the first arrival at each stage and the channel from the audit trail, the
    fee; the principal's and the agent's names only ``with_names``."""
    within = _received_within(start, end)
    requests = (
        session.execute(select(Request).where(*within).order_by(col(Request.received_at), col(Request.id)))
        .scalars()
        .all()
    )
    channels: dict[str, str] = {}
    reached: dict[str, dict[Status, datetime]] = {}
    trail = session.execute(
        select(
            col(AuditEvent.subject_ref),
            col(AuditEvent.action),
            col(AuditEvent.actor),
            col(AuditEvent.at),
            col(AuditEvent.details),
        )
        .join(Request, col(Request.reference) == AuditEvent.subject_ref)
        .where(
            *within, col(AuditEvent.action).in_(("request.received", "request.imported", "request.status"))
        )
        .order_by(col(AuditEvent.seq))
    )
    for reference, action, actor, at, details in trail:
        if action != "request.status":
            channels.setdefault(reference, channel_of(actor))
        elif details.get("status") in STAGES:
            reached.setdefault(reference, {}).setdefault(Status(details["status"]), at)
    fees = {
        fee.request_id: fee
        for fee in session.execute(
            select(Fee).join(Request, col(Request.id) == Fee.request_id).where(*within)
        ).scalars()
    }
    names: dict[int, tuple[str, ...]] = {}
    if with_names:
        parties = session.execute(
            select(Party)
            .join(Request, col(Request.id) == Party.request_id)
            .where(*within)
            .order_by(col(Party.request_id), col(Party.role) != Role.PRINCIPAL, col(Party.id))
        ).scalars()
        for party in parties:
            names[party.request_id] = (*names.get(party.request_id, ()), party.name)
    out = []
    for r in requests:
        fee = fees.get(r.id)
        out.append(
            Entry(
                reference=r.reference,
                channel=channels.get(r.reference, "imported"),
                request_type=r.request_type,
                received_at=r.received_at,
                due_at=r.due_at,
                status=r.status,
                outcome=str(r.outcome) if r.outcome else None,
                reason_codes=tuple(r.reason_codes),
                closed_at=r.closed_at,
                reached=reached.get(r.reference, {}),
                fee_yen=fee.amount_yen if fee else None,
                postage_yen=fee.postage_yen if fee else None,
                fee_state=fee.state if fee else None,
                names=names.get(r.id, ()),
            )
        )
    return out


def _day(instant: datetime | None) -> date | None:
    return jst_date(instant) if instant else None


def register_table(
    lines: Iterable[Entry], *, now: datetime, lang: str = "ja", with_names: bool = False
) -> tuple[list[str], list[list]]:
    """Headings and rows of the register: dates as dates (Japan's), amounts as numbers."""
    w = words(lang)
    keys = [
        "reference",
        "channel",
        "request_type",
        "received",
        "due",
        *map(str, STAGES),
        "closed",
        "status",
        "result",
        "on_time",
        "reason_codes",
        "fee",
        "postage",
        "fee_state",
    ]
    if with_names:
        keys += ["principal_name", "agent_name"]
    rows = []
    for e in lines:
        row = [
            e.reference,
            w["channels"].get(e.channel, e.channel),
            w["request_types"].get(e.request_type, str(e.request_type)),
            _day(e.received_at),
            _day(e.due_at),
            *(_day(e.reached.get(stage)) for stage in STAGES),
            _day(e.closed_at),
            w["statuses"].get(e.status, str(e.status)),
            w["results"].get(e.result, e.result),
            w["on_time"][e.timeliness(now)] or None,
            " ".join(e.reason_codes) or None,
            e.fee_yen,
            e.postage_yen,
            w["fee_states"].get(e.fee_state, e.fee_state) if e.fee_state else None,
        ]
        if with_names:
            row += [e.names[0] if e.names else None, e.names[1] if len(e.names) > 1 else None]
        rows.append(row)
    return [w["columns"][k] for k in keys], rows


def summary_table(tallies: Iterable[Tally], lang: str = "ja") -> tuple[list[str], list[list]]:
    """Headings and rows of the summary; the on-time rate as a fraction (None: none judged)."""
    w = words(lang)
    s = w["summary"]
    results = list(w["results"])
    headings = [
        s["month"],
        s["request_type"],
        s["count"],
        *(w["results"][r] for r in results),
        s["on_time_rate"],
    ]
    rows = [
        [
            t.month,
            w["request_types"].get(t.request_type, str(t.request_type)) if t.request_type else s["total"],
            t.count,
            *(t.results[r] for r in results),
            t.on_time_rate,
        ]
        for t in tallies
    ]
    return headings, rows


def percent(rate: float | None) -> str:
    """An on-time rate as the page, the CSV and the digest print it."""
    return "-" if rate is None else f"{rate:.0%}"


def cell_text(value) -> str:
    """A cell as the CSV and the digest print it: days ISO, rates in percent, none as empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return percent(value)
    return value.isoformat() if isinstance(value, date) else str(value)


def to_csv(headings: list[str], rows: list[list]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel in Japan reads the headings right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headings)
    writer.writerows([cell_text(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
    """One worksheet per ``(title, headings, rows)``; dates as Excel dates, rates as percent."""
    book = Workbook()
    book.remove(book.active)
    for title, headings, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append(headings)
        for row in rows:
            sheet.append(row)
        for column in sheet.iter_cols(min_row=2):
            for cell in column:
                if isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
                elif isinstance(cell.value, float):
                    cell.number_format = "0%"
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the chart --------------------------------------------------------------------------------

COLOURS = {"on_time": "#1f6feb", "late": "#d9480f", "pending": "#adb5bd"}
_SIZE, _MARGIN = (720, 300), (44, 22, 16, 36)  # left, top, right, bottom


def chart_png(tallies: Iterable[Tally]) -> bytes:
    """Requests per month as stacked bars: answered on time, late, not judged (COLOURS). Only
    digits and months are drawn, so no Japanese font is needed; the legend is the page's."""
    totals = [t for t in tallies if t.request_type is None]
    image = Image.new("RGB", _SIZE, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=12)
    left, top, right, bottom = _MARGIN[0], _MARGIN[1], _SIZE[0] - _MARGIN[2], _SIZE[1] - _MARGIN[3]
    peak = max((t.count for t in totals), default=0)
    step = max(1, -(-peak // 5))  # five grid lines at most, whole numbers
    ceiling = step * max(1, -(-peak // step))
    for value in range(0, ceiling + 1, step):
        y = bottom - (bottom - top) * value / ceiling
        draw.line([(left, y), (right, y)], fill=(222, 226, 230))
        draw.text((left - 6, y), str(value), fill="black", font=font, anchor="rm")
    slot = (right - left) / max(1, len(totals))
    for i, tally in enumerate(totals):
        x0, x1 = left + slot * i + slot * 0.2, left + slot * (i + 0.8)
        y = bottom
        for part in TIMELINESS:
            height = (bottom - top) * tally.timeliness[part] / ceiling
            if height:
                draw.rectangle([(x0, y - height), (x1, y)], fill=COLOURS[part])
            y -= height
        if tally.count:
            draw.text(((x0 + x1) / 2, y - 2), str(tally.count), fill="black", font=font, anchor="md")
        if len(totals) <= 12 or i % 2 == 0:
            draw.text(((x0 + x1) / 2, bottom + 6), tally.month, fill="black", font=font, anchor="ma")
    draw.line([(left, bottom), (right, bottom)], fill="black")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def data_uri(png: bytes) -> str:
    """The chart inline (the digest's email and artifact have no other way to carry it)."""
    return "data:image/png;base64," + base64.b64encode(png).decode()


# --- what the callers ask for -----------------------------------------------------------------

PAGE_MONTHS, DIGEST_MONTHS = 12, 3  # the officer's page opens on a year; the digest shows a quarter


def recent_months(today: date, count: int) -> tuple[date, date]:
    """From the first day of the month ``count - 1`` months before ``today``'s, to ``today``."""
    month = today.year * 12 + today.month - count
    return date(month // 12, month % 12 + 1, 1), today


def summary(session: Session, start: date, end: date, *, now: datetime) -> list[Tally]:
    return summarize(entries(session, start, end), start, end, now=now)


def digest_part(tallies: list[Tally], lang: str = "ja") -> dict:
    """The summary as the daily digest carries it (JSON, counts only): the table as text, the
    chart inline and its legend with the colours."""
    headings, rows = summary_table(tallies, lang)
    w = words(lang)
    return {
        "title": w["summary"]["title"],
        "headings": headings,
        "rows": [[cell_text(v) for v in row] for row in rows],
        "chart": data_uri(chart_png(tallies)),
        "chart_title": w["chart"]["title"],
        "legend": [
            [label, COLOURS[part], w["chart"]["colours"][part]]
            for part, label in w["chart"]["legend"].items()
        ],
    }


@dataclass(frozen=True)
class Export:
    data: bytes
    media_type: str
    filename: str
    rows: int


def export(
    session: Session,
    settings: Settings,
    start: date,
    end: date,
    *,
    suffix: str,
    actor: str,
    now: datetime,
    with_names: bool = False,
    lang: str = "ja",
) -> Export:
    """The register of the period as ``suffix`` (``.csv``: the lines; ``.xlsx``: the lines and
    the summary), audited (``register.exported``) with ``actor``, who made it, in the caller's
    transaction."""
    if suffix not in FORMATS:
        raise ValueError(f"unsupported format {suffix!r}; expected one of {sorted(FORMATS)}")
    lines = entries(session, start, end, with_names=with_names)
    headings, rows = register_table(lines, now=now, lang=lang, with_names=with_names)
    if suffix == ".csv":
        data = to_csv(headings, rows)
    else:
        s = words(lang)["summary"]
        data = to_xlsx(
            [
                (s["sheet_register"], headings, rows),
                (s["sheet_summary"], *summary_table(summarize(lines, start, end, now=now), lang)),
            ]
        )
    period = f"{start.isoformat()}..{end.isoformat()}"
    audit(
        session,
        settings,
        actor=actor,
        action="register.exported",
        reference=f"register:{period}",
        now=now,
        rows=len(rows),
        with_names=with_names,
        format=suffix.removeprefix("."),
    )
    return Export(data, FORMATS[suffix], f"register-{start:%Y%m%d}-{end:%Y%m%d}{suffix}", len(rows))

"""Issue 15 §4: the request register (開示等請求管理台帳). A month of requests goes through
intake and the lifecycle's services (identity, review, approval, fee, fulfilment, refusal,
withdrawal), some answered late; the register's lines and summary are checked against the
database, its CSV and XLSX read back, the export with names audited under the officer's
account, and the officer's page on the gate refused to everyone else."""

import base64
import csv
import io
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from PIL import Image, ImageColor
from sqlalchemy import String, case, func, select, type_coerce
from typer.testing import CliRunner

from cli import app
from mail.render import render
from models.audit import AuditEvent
from models.db import unit_of_work
from models.requests import Fee, Request, RequestCreate
from models.rules.access import AccountRole
from models.rules.deadlines import JST, jst_date
from models.rules.register import STAGES
from models.rules.vocabulary import FINAL_STATUSES, Outcome, ReasonCode, RequestType, Status
from models.schema import upgrade
from models.settings import Settings, get_settings
from services import accounts, closing, fees, intake, register, sla_report
from services.common import load_request, move
from tests.services.conftest import PRINCIPAL
from web.gate import create_gate

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
NOW = datetime(2026, 12, 20, 3, 0, tzinfo=UTC)  # after every request of the month was due
AGENT = {"role": "appointed_agent", "name": "代理 花子", "email": "agent@example.jp"}
PASSWORD = {
    "suzuki": "officer password 1",
    "sato": "operator password 1",
    "root": "admin password 123",
    "svc": "service password 1",
}
ROLES = {
    "suzuki": AccountRole.OFFICER,
    "sato": AccountRole.OPERATOR,
    "root": AccountRole.ADMIN,
    "svc": AccountRole.SERVICE,
}
NOWHERE = "http://127.0.0.1:9"  # the gate's upstream: the register never reaches Prefect


def _receive(settings: Settings, at: datetime, request_type: RequestType, *, agent: bool) -> str:
    body = {
        "request_type": request_type,
        "principal": PRINCIPAL,
        **({"requester": AGENT} if agent else {}),
        **(
            {"details": {"corrections": [{"field": "email", "requested": "new@example.jp"}]}}
            if request_type is RequestType.CORRECTION
            else {}
        ),
    }
    with unit_of_work(settings) as session:
        return intake.submit(session, settings, RequestCreate.model_validate(body), now=at).reference


def _live(settings: Settings, reference: str, rng: random.Random) -> None:
    """One request's life from intake, each step a service call at its own time; some end
    late, some early, some are still open."""
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        t = request.received_at + timedelta(hours=rng.randint(1, 30))
        move(session, settings, request, Status.IDENTITY_VERIFICATION, now=t)
        fate = rng.choice(
            ["granted", "granted", "partial", "refused", "identity", "withdrawn", "open", "fee"]
        )
        if fate == "identity":
            closing.close(
                session,
                settings,
                reference,
                status=Status.REFUSED,
                outcome=Outcome.REFUSED,
                reasons=[ReasonCode.IDENTITY_NOT_VERIFIED],
                now=t + timedelta(days=2),
            )
            return
        t += timedelta(days=rng.randint(1, 3))
        move(session, settings, request, Status.REVIEW, now=t)
        if fate == "withdrawn":
            closing.close(
                session,
                settings,
                reference,
                status=Status.WITHDRAWN,
                outcome=None,
                reasons=[ReasonCode.REQUEST_WITHDRAWN],
                now=t + timedelta(days=1),
            )
            return
        if fate == "open":
            return
        if fate == "refused":
            t += timedelta(days=rng.randint(1, 6))
            move(session, settings, request, Status.AWAITING_APPROVAL, now=t)
            closing.close(
                session,
                settings,
                reference,
                status=Status.REFUSED,
                outcome=Outcome.REFUSED,
                reasons=[ReasonCode.BUSINESS_INTERFERENCE],
                now=t + timedelta(days=rng.randint(1, 12)),
            )
            return
        if fate == "fee" and request.request_type in (
            RequestType.DISCLOSURE,
            RequestType.PURPOSE_NOTIFICATION,
        ):
            t += timedelta(days=1)
            fees.request_fee(session, settings, reference, outcome=Outcome.GRANTED, now=t)
            t += timedelta(days=rng.randint(1, 4))
            fees.confirm_payment(
                session, settings, reference, actor="operator:sato", method="bank_transfer", now=t
            )
        else:
            t += timedelta(days=rng.randint(1, 4))
            move(session, settings, request, Status.FULFILMENT, now=t)
        outcome = Outcome.PARTIALLY_GRANTED if fate == "partial" else Outcome.GRANTED
        reasons = [ReasonCode.OTHER_LAW_VIOLATION] if fate == "partial" else []
        closing.close(
            session,
            settings,
            reference,
            status=Status.COMPLETED,
            outcome=outcome,
            reasons=reasons,
            now=t + timedelta(days=rng.randint(0, 16)),
        )


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> tuple[Settings, list[str]]:
    """40 requests received in November 2026 (Japan), one the evening before and one just
    after midnight of 1 December in Japan (still 30 November in UTC): the month's edges."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("register"), secret_key="register-test")
    upgrade(settings)
    rng = random.Random(15)
    references = []
    for _ in range(40):
        day = date(2026, 11, rng.randint(1, 30))
        at = datetime(day.year, day.month, day.day, rng.randint(0, 23), rng.randint(0, 59), tzinfo=JST)
        reference = _receive(
            settings, at.astimezone(UTC), rng.choice(list(RequestType)), agent=rng.random() < 0.25
        )
        _live(settings, reference, rng)
        references.append(reference)
    for edge in (datetime(2026, 10, 31, 23, 30, tzinfo=JST), datetime(2026, 12, 1, 0, 30, tzinfo=JST)):
        _receive(settings, edge.astimezone(UTC), RequestType.DISCLOSURE, agent=False)
    with unit_of_work(settings) as session:
        for name, role in ROLES.items():
            accounts.add(session, settings, name, role, PASSWORD[name], actor="test", now=NOW)
    return settings, references


def _database(settings: Settings):
    """What the app database says of November's requests, read with SQL of its own."""
    lo, hi = datetime(2026, 11, 1, tzinfo=JST), datetime(2026, 12, 1, tzinfo=JST)
    within = (Request.received_at >= lo, Request.received_at < hi)
    with unit_of_work(settings) as session:
        by_type = dict(
            session.execute(
                select(Request.request_type, func.count()).where(*within).group_by(Request.request_type)
            ).all()
        )
        result = case(
            (Request.outcome.is_not(None), type_coerce(Request.outcome, String)),
            (Request.status.in_(FINAL_STATUSES), type_coerce(Request.status, String)),
            else_="open",
        )
        outcomes = dict(session.execute(select(result, func.count()).where(*within).group_by(result)).all())
        on_time = session.execute(
            select(func.count()).where(
                *within, Request.status != Status.WITHDRAWN, Request.closed_at <= Request.due_at
            )
        ).scalar_one()
        late = session.execute(
            select(func.count()).where(
                *within,
                Request.status != Status.WITHDRAWN,
                (
                    (Request.closed_at > Request.due_at)
                    | (Request.closed_at.is_(None) & (Request.due_at < NOW))
                ),
            )
        ).scalar_one()
        fees_ = {
            r: (a, p)
            for r, a, p in session.execute(
                select(Request.reference, Fee.amount_yen, Fee.postage_yen).join(
                    Fee, Fee.request_id == Request.id
                )
            )
        }
        first = {}
        for ref, at, details in session.execute(
            select(AuditEvent.subject_ref, AuditEvent.at, AuditEvent.details)
            .where(AuditEvent.action == "request.status")
            .order_by(AuditEvent.seq)
        ):
            first.setdefault((ref, details["status"]), jst_date(at))
        rows = {r.reference: r for r in session.execute(select(Request).where(*within)).scalars()}
    return by_type, outcomes, on_time, late, fees_, first, rows


def test_the_register_of_a_month_matches_the_database(month):
    settings, references = month
    by_type, outcomes, on_time, late, fees_, first, rows = _database(settings)
    with unit_of_work(settings) as session:
        lines = register.entries(session, *NOVEMBER)
        tallies = register.summary(session, *NOVEMBER, now=NOW)
    assert sorted(e.reference for e in lines) == sorted(references) == sorted(rows)
    assert {e.channel for e in lines} == {"web"}
    for e in lines:
        row = rows[e.reference]
        assert (e.request_type, e.status, e.due_at, e.closed_at) == (
            row.request_type,
            row.status,
            row.due_at,
            row.closed_at,
        )
        assert list(e.reason_codes) == row.reason_codes
        assert {str(s): jst_date(at) for s, at in e.reached.items()} == {
            str(s): first[(e.reference, str(s))] for s in STAGES if (e.reference, str(s)) in first
        }
        assert (e.fee_yen, e.postage_yen) == fees_.get(e.reference, (None, None))
        assert e.names == ()
    assert sum(1 for e in lines if e.fee_yen) >= 1 and sum(1 for e in lines if e.reached) >= 30

    november = [t for t in tallies if t.month == "2026-11"]
    total = november[-1]
    assert total.request_type is None and [t.month for t in tallies if t.request_type is None] == ["2026-11"]
    assert {t.request_type: t.count for t in november[:-1]} == by_type and total.count == 40
    results = Counter()
    for t in november[:-1]:
        results.update(t.results)
    assert +results == +Counter(total.results) == Counter(outcomes)
    assert (total.timeliness["on_time"], total.timeliness["late"]) == (on_time, late)
    assert late > 0 and total.on_time_rate == pytest.approx(on_time / (on_time + late))


def test_csv_and_xlsx_read_back_the_same_lines(month):
    settings, _ = month
    with unit_of_work(settings) as session:
        lines = register.entries(session, *NOVEMBER)
        as_csv = register.export(session, settings, *NOVEMBER, suffix=".csv", actor="test", now=NOW)
        as_xlsx = register.export(session, settings, *NOVEMBER, suffix=".xlsx", actor="test", now=NOW)
        tallies = register.summary(session, *NOVEMBER, now=NOW)
    headings, rows = register.register_table(lines, now=NOW)
    assert headings[:5] == ["受付番号", "受付経路", "請求の種類", "受付日", "回答期限"]
    assert as_csv.rows == as_xlsx.rows == 40
    assert as_csv.data.startswith("\ufeff".encode())
    read = list(csv.reader(io.StringIO(as_csv.data.decode("utf-8-sig"))))
    assert read[0] == headings and len(read) == 41
    assert read[1:] == [[register.cell_text(v) for v in row] for row in rows]

    book = load_workbook(io.BytesIO(as_xlsx.data))
    assert book.sheetnames == ["台帳", "月別集計"]
    sheet = [list(r) for r in book["台帳"].iter_rows(values_only=True)]
    assert sheet[0] == headings
    as_date = [[v.date() if isinstance(v, datetime) else v for v in r] for r in sheet[1:]]
    assert as_date == rows
    summary = [list(r) for r in book["月別集計"].iter_rows(values_only=True)]
    assert summary[0] == register.summary_table(tallies)[0]
    assert summary[-1][:3] == ["2026-11", "計", 40]
    assert summary[-1][-1] == pytest.approx(tallies[-1].on_time_rate)


def test_the_chart_draws_one_bar_per_month(month):
    settings, _ = month
    with unit_of_work(settings) as session:
        png = register.chart_png(register.summary(session, date(2026, 10, 1), date(2026, 12, 31), now=NOW))
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (720, 300)
    colours = {colour: n for n, colour in image.convert("RGB").getcolors(maxcolors=720 * 300)}
    for part in ("on_time", "late", "pending"):
        assert colours.get(ImageColor.getrgb(register.COLOURS[part]), 0) > 100, part


@pytest.fixture
def madoguchi(month, monkeypatch):
    settings, _ = month
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", "register-test")
    monkeypatch.delenv("MADOGUCHI_USER", raising=False)
    get_settings.cache_clear()

    def run(*args: str, code: int = 0, password: str | None = None):
        result = CliRunner().invoke(app, list(args), env={"MADOGUCHI_PASSWORD": password or ""})
        assert result.exit_code == code, result.output
        return result.output

    yield run
    get_settings.cache_clear()


def _exports(settings: Settings) -> list[tuple[str, dict]]:
    with unit_of_work(settings) as session:
        return [
            (e.actor, e.details)
            for e in session.execute(
                select(AuditEvent).where(AuditEvent.action == "register.exported").order_by(AuditEvent.seq)
            ).scalars()
        ]


def test_cli_exports_without_names_and_with_names_only_for_the_officer(month, madoguchi, tmp_path):
    settings, _ = month
    before = len(_exports(settings))
    plain = tmp_path / "november.csv"
    assert "40 requests" in madoguchi(
        "register", "export", "--from", "2026-11-01", "--to", "2026-11-30", "--output", str(plain)
    )
    assert PRINCIPAL["name"] not in plain.read_text("utf-8-sig") and "本人氏名" not in plain.read_text(
        "utf-8-sig"
    )

    named = tmp_path / "november.xlsx"
    args = (
        "register",
        "export",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--output",
        str(named),
        "--with-names",
    )
    assert "user:" in madoguchi(*args, code=2)
    assert "privacy officer" in madoguchi(*args, "--user", "sato", password=PASSWORD["sato"], code=1)
    assert "login refused" in madoguchi(*args, "--user", "suzuki", password="not the password", code=1)
    assert not named.exists()
    madoguchi(*args, "--user", "suzuki", password=PASSWORD["suzuki"])
    sheet = [list(r) for r in load_workbook(named)["台帳"].iter_rows(values_only=True)]
    assert sheet[0][-2:] == ["本人氏名", "代理人氏名"]
    assert {r[-2] for r in sheet[1:]} == {PRINCIPAL["name"]} and AGENT["name"] in {r[-1] for r in sheet[1:]}

    exports = _exports(settings)[before:]
    assert [(actor, d["with_names"], d["rows"], d["format"]) for actor, d in exports] == [
        (exports[0][0], False, 40, "csv"),
        ("officer:suzuki", True, 40, "xlsx"),
    ]
    assert exports[0][0].startswith("cli:")


@pytest.mark.parametrize(
    "args, field",
    [
        (("--from", "2026-11-30", "--to", "2026-11-01", "--output", "x.csv"), "to:"),
        (("--from", "2026-11-01", "--to", "2026-11-30", "--output", "x.pdf"), "output:"),
        (("--from", "30/11/2026", "--to", "2026-11-30", "--output", "x.csv"), "--from"),
    ],
)
def test_cli_bad_input_exits_2_naming_the_field(madoguchi, args, field):
    assert field in madoguchi("register", "export", *args, code=2)


@pytest.fixture
def gate(month):
    with TestClient(create_gate(NOWHERE, settings=month[0])) as client:
        yield client


PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}


def test_the_page_is_the_officers_alone(gate, month):
    settings, _ = month
    before = len(_exports(settings))
    paths = ("/desk/register", "/desk/register/chart.png", "/desk/register/export")
    for path in paths:
        for auth in (None, ("suzuki", "wrong password 1")):
            answer = gate.get(path, params=PERIOD, auth=auth)
            assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Basic ")
        for name in ("sato", "root", "svc"):
            answer = gate.get(path, params={**PERIOD, "with_names": "1"}, auth=(name, PASSWORD[name]))
            assert (
                answer.status_code == 403 and "R-" not in answer.text and PRINCIPAL["name"] not in answer.text
            )
    assert len(_exports(settings)) == before


def test_the_officer_reads_the_summary_and_downloads_the_register(gate, month):
    settings, _ = month
    officer = ("suzuki", PASSWORD["suzuki"])
    page = gate.get("/desk/register", params=PERIOD, auth=officer)
    assert page.status_code == 200 and "no-store" in page.headers["cache-control"]
    assert "月別・種類別の集計" in page.text and "期限内回答率" in page.text and "R-" not in page.text
    with unit_of_work(settings) as session:
        total = register.summary(session, *NOVEMBER, now=datetime.now(UTC))[-1]
    assert "<td>2026-11</td><td>計</td>" in page.text and register.percent(total.on_time_rate) in page.text
    assert 'src="/desk/register/chart.png?from=2026-11-01&amp;to=2026-11-30"' in page.text

    chart = gate.get("/desk/register/chart.png", params=PERIOD, auth=officer)
    assert chart.headers["content-type"] == "image/png" and Image.open(io.BytesIO(chart.content)).size == (
        720,
        300,
    )

    answer = gate.get(
        "/desk/register/export", params={**PERIOD, "format": "xlsx", "with_names": "1"}, auth=officer
    )
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="register-20261101-20261130.xlsx"'
    sheet = [list(r) for r in load_workbook(io.BytesIO(answer.content))["台帳"].iter_rows(values_only=True)]
    assert len(sheet) == 41 and {r[-2] for r in sheet[1:]} == {PRINCIPAL["name"]}
    assert _exports(settings)[-1] == ("officer:suzuki", {"rows": 40, "with_names": True, "format": "xlsx"})

    plain = gate.get("/desk/register/export", params=PERIOD, auth=officer)
    assert plain.headers["content-type"].startswith("text/csv") and PRINCIPAL["name"] not in plain.text
    assert _exports(settings)[-1] == ("officer:suzuki", {"rows": 40, "with_names": False, "format": "csv"})


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "2026-11-31", "to": "2026-11-30"}, "from"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "to"),
        ({**PERIOD, "format": "pdf"}, "format"),
    ],
)
def test_bad_input_is_422_with_the_field(gate, params, field):
    officer = ("suzuki", PASSWORD["suzuki"])
    answer = gate.get("/desk/register/export", params=params, auth=officer)
    assert answer.status_code == 422 and [e["field"] for e in answer.json()["detail"]] == [field]
    if field != "format":
        assert gate.get("/desk/register/chart.png", params=params, auth=officer).status_code == 422
        page = gate.get("/desk/register", params=params, auth=officer)
        assert page.status_code == 422 and 'class="error"' in page.text


def test_the_digest_carries_the_summary_and_the_chart(month):
    settings, _ = month
    with unit_of_work(settings) as session:
        tallies = register.summary(
            session, *register.recent_months(date(2026, 12, 20), register.DIGEST_MONTHS), now=NOW
        )
        day = sla_report.digest(
            [], [], now=NOW, ui_url="http://prefect.test", register=register.digest_part(tallies)
        )
        assert sla_report.send_digest(session, settings, day, now=NOW, ui_url="http://prefect.test")
    part = day.context("http://prefect.test")["register"]
    assert [row[:3] for row in part["rows"] if row[1] == "計"] == [
        ["2026-10", "計", "1"],
        ["2026-11", "計", "40"],
        ["2026-12", "計", "1"],
    ]
    november = next(t for t in tallies if t.month == "2026-11" and t.request_type is None)
    assert [
        "2026-11",
        "計",
        "40",
        *map(str, november.results.values()),
        register.percent(november.on_time_rate),
    ] in part["rows"]
    png = io.BytesIO(base64.b64decode(part["chart"].removeprefix("data:image/png;base64,")))
    assert Image.open(png).size == (720, 300)

    markdown = sla_report.digest_markdown(day)
    assert (
        f"![月別の受付件数と期限内の回答]({part['chart']})" in markdown
        and "| 2026-11 | 計 | 40 |" in markdown
    )
    mail = render(
        "daily_digest", "ja", {"base_url": "http://intake.test", **day.context("http://prefect.test")}
    )
    assert f'<img src="{part["chart"]}"' in mail.html and "期限内回答率" in mail.html
    assert "2026-11 / 計 / 40" in mail.text
    assert PRINCIPAL["name"] not in markdown + mail.html + mail.text


@pytest.mark.postgres
def test_the_register_reads_the_same_on_postgresql(pg_settings):
    upgrade(pg_settings)
    rng = random.Random(7)
    at = datetime(2026, 11, 2, 10, tzinfo=JST).astimezone(UTC)
    references = [
        _receive(pg_settings, at + timedelta(days=i), kind, agent=i == 1)
        for i, kind in enumerate((RequestType.DISCLOSURE, RequestType.ERASURE, RequestType.CORRECTION))
    ]
    for reference in references:
        _live(pg_settings, reference, rng)
    with unit_of_work(pg_settings) as session:
        lines = register.entries(session, *NOVEMBER, with_names=True)
        made = register.export(
            session, pg_settings, *NOVEMBER, suffix=".xlsx", actor="officer:suzuki", now=NOW, with_names=True
        )
    assert [e.reference for e in lines] == references and all(e.reached for e in lines)
    assert [e.names for e in lines] == [
        (PRINCIPAL["name"],),
        (PRINCIPAL["name"], AGENT["name"]),
        (PRINCIPAL["name"],),
    ]
    assert (
        made.rows == 3 and load_workbook(io.BytesIO(made.data))["月別集計"].max_row == 5
    )  # headings, 3 types, total

"""Issue 15 §1: the help desk enters a request on the gate, logged in. The public form's
validation and acknowledgement, the channel and the person in the audit trail, the received
day driving the due date, and the acknowledgement by letter: a Japanese PDF, on the work queue
until it is marked sent. The upstream is an address nothing listens on: a call that reached
the proxy would fail."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import select

from demo.fixture import load_fixture_into_systems
from models.audit import AuditEvent
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from models.letters import Letter
from models.requests import Party, Request
from models.rules.access import AccountRole
from models.rules.deadlines import JST, decision_clock, jst_date
from models.rules.entry import MAX_DAYS_BACK
from models.schema import upgrade
from models.settings import Settings
from services import accounts, letters, register
from tests.services.conftest import PRINCIPAL, contract_subject
from tests.web.conftest import csrf_of
from web.gate import create_gate

PASSWORD = {"sato": "operator password 1", "root": "admin password 123", "svc": "service password 1"}
ROLES = {"sato": AccountRole.OPERATOR, "root": AccountRole.ADMIN, "svc": AccountRole.SERVICE}
SATO = ("sato", PASSWORD["sato"])
NOWHERE = "http://127.0.0.1:9"
ADDRESS = "〒150-0001 東京都渋谷区神宮前1-2-3"
FORM = {
    "request_type": "disclosure",
    "principal_name": PRINCIPAL["name"],
    "principal_email": PRINCIPAL["email"],
    "principal_phone": PRINCIPAL["phone"],
    "role": "principal",
    "delivery": "electronic",
    "language": "ja",
    "channel": "phone",
    "acknowledgement": "email",
}


@pytest.fixture
def gate(tmp_path):
    settings = Settings(data_dir=tmp_path, secret_key="test-secret")
    upgrade(settings)
    with unit_of_work(settings) as session:
        for name, role in ROLES.items():
            accounts.add(
                session,
                settings,
                name,
                role,
                PASSWORD[name],
                actor="test",
                now=datetime(2026, 12, 1, tzinfo=UTC),
            )
    with TestClient(create_gate(NOWHERE, settings=settings)) as client:
        yield client, settings


def _today() -> str:
    return jst_date(utcnow()).isoformat()


def _enter(client, **changes):
    page = client.get("/desk/requests/new", auth=SATO)
    assert page.status_code == 200, page.text
    return client.post(
        "/desk/requests/new",
        auth=SATO,
        data={**FORM, "received_on": _today(), **changes, "csrf_token": csrf_of(page.text)},
    )


def _reference(html: str) -> str:
    return re.search(r'id="reference">(R-\d{6}-\w{6})<', html).group(1)


def _trail(settings, reference: str) -> list[tuple[str, str, dict]]:
    with unit_of_work(settings) as session:
        return [
            (e.actor, e.action, e.details)
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.subject_ref == reference).order_by(AuditEvent.seq)
            )
        ]


def test_the_pages_are_the_desks(gate):
    client, _ = gate
    for method, path in (
        ("GET", "/desk/requests/new"),
        ("POST", "/desk/requests/new"),
        ("GET", "/desk/letters"),
        ("GET", "/desk/letters/1.pdf"),
        ("POST", "/desk/letters/1/sent"),
    ):
        assert client.request(method, path).status_code == 401, path
        for name in ("root", "svc"):
            assert client.request(method, path, auth=(name, PASSWORD[name])).status_code == 403, (path, name)


def test_a_phone_request_is_acknowledged_by_email_and_names_who_entered_it(gate):
    client, settings = gate
    answer = _enter(client)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    reference = _reference(answer.text)
    with unit_of_work(settings) as session:
        request = session.exec(select(Request).where(Request.reference == reference)).one()
        [notice] = session.exec(select(Notice).where(Notice.request_id == request.id)).all()
        assert session.exec(select(Letter)).all() == []
        lines = register.entries(session, jst_date(request.received_at), jst_date(request.received_at))
    assert (notice.kind, notice.recipient_email) == ("acknowledgement", PRINCIPAL["email"])
    assert [(actor, action) for actor, action, _ in _trail(settings, reference)] == [
        ("requester:phone", "request.received"),
        ("operator:sato", "request.entered"),
    ]
    assert _trail(settings, reference)[1][2] == {
        "channel": "phone",
        "received_on": _today(),
        "acknowledgement": "email",
    }
    headings, rows = register.register_table(lines, now=utcnow())
    assert rows[0][headings.index(register.words()["columns"]["channel"])] == "電話"


def test_a_letter_received_days_ago_runs_from_that_day_and_is_answered_by_a_letter(gate):
    client, settings = gate
    arrived = jst_date(utcnow()) - timedelta(days=3)
    answer = _enter(
        client,
        channel="post",
        received_on=arrived.isoformat(),
        acknowledgement="letter",
        postal_address=ADDRESS,
    )
    assert answer.status_code == 200, answer.text
    reference = _reference(answer.text)
    with unit_of_work(settings) as session:
        request = session.exec(select(Request).where(Request.reference == reference)).one()
        assert session.exec(select(Notice).where(Notice.request_id == request.id)).all() == []
        assert [row["受付番号"] for row in letters.queue_rows(session, ui_url="http://ui")] == [reference]
    received = datetime.combine(arrived, datetime.min.time(), JST)
    assert request.received_at == received
    assert request.due_at == decision_clock(received, now=utcnow()).due_at
    assert reference.startswith(f"R-{arrived:%y%m%d}-")

    listed = client.get("/desk/letters", auth=SATO)
    assert reference in listed.text
    letter_id = int(re.search(r"/desk/letters/(\d+)\.pdf", listed.text).group(1))
    pdf = client.get(f"/desk/letters/{letter_id}.pdf", auth=SATO)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    text = reader.pages[0].extract_text()
    assert reference in text and "受け付けました" in text and ADDRESS in text and PRINCIPAL["name"] in text
    assert f"{arrived.year}年{arrived.month}月{arrived.day}日" in text  # the day it arrived
    assert "株式会社ビズらく" in text
    token = re.search(r'id="token">([^<]+)<', answer.text).group(1)
    assert token in text.replace("\n", "")  # a letter writer learns the status token from the letter
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [595, 842]  # A4
    assert reader.metadata.title == reference

    marked = client.post(
        f"/desk/letters/{letter_id}/sent",
        auth=SATO,
        data={"csrf_token": csrf_of(listed.text)},
        follow_redirects=False,
    )
    assert marked.status_code == 303
    assert reference not in client.get("/desk/letters", auth=SATO).text
    with unit_of_work(settings) as session:
        assert letters.queue_rows(session, ui_url="http://ui") == []
    assert [(a, action) for a, action, _ in _trail(settings, reference)][-2:] == [
        ("operator:sato", "letter.printed"),
        ("operator:sato", "letter.sent"),
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"received_on": (jst_date(utcnow()) + timedelta(days=1)).isoformat()}, "received_on"),
        (
            {"received_on": (jst_date(utcnow()) - timedelta(days=MAX_DAYS_BACK + 1)).isoformat()},
            "received_on",
        ),
        ({"received_on": "yesterday"}, "received_on"),
        ({"acknowledgement": "letter"}, "postal_address"),
        ({"channel": "fax"}, "channel"),
        ({"principal_email": "not an address"}, "principal_email"),
        ({"request_type": ""}, "request_type"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_enters_nothing(gate, changes, field):
    client, settings = gate
    answer = _enter(client, **changes)
    assert answer.status_code == 422
    assert f'id="{field}-error"' in answer.text, answer.text
    with unit_of_work(settings) as session:
        assert session.exec(select(Request)).all() == [] and session.exec(select(Party)).all() == []


def test_a_post_without_the_pages_token_is_refused(gate):
    client, settings = gate
    client.get("/desk/requests/new", auth=SATO)
    assert (
        client.post(
            "/desk/requests/new", auth=SATO, data={**FORM, "received_on": _today(), "csrf_token": "forged"}
        ).status_code
        == 403
    )
    assert client.post("/desk/letters/1/sent", auth=SATO, data={"csrf_token": "forged"}).status_code == 403
    with unit_of_work(settings) as session:
        assert session.exec(select(Request)).all() == []


def _caller(settings, *others: dict) -> dict:
    """The docs/contract.md example customer (and ``others``) in the customer master; the form
    of that customer calling without an email, by login ID."""
    load_fixture_into_systems({"customers": [contract_subject(), *others]}, settings)
    return {
        "principal_email": "",
        "principal_phone": "",
        "principal_login_id": PRINCIPAL["login_id"],
        "postal_address": ADDRESS,
    }


@pytest.mark.parametrize(
    ("given", "found_by"),
    [
        ({}, ["login_id"]),
        ({"principal_login_id": "", "principal_phone": "(03) 1234 5678"}, ["phone"]),  # by its digits
    ],
)
def test_a_caller_without_an_email_is_found_by_login_id_or_phone_and_answered_by_letter(
    gate, given, found_by
):
    client, settings = gate
    answer = _enter(client, **{**_caller(settings), **given})
    assert answer.status_code == 200, answer.text
    assert 'id="letter"' in answer.text
    reference = _reference(answer.text)
    with unit_of_work(settings) as session:
        request = session.exec(select(Request).where(Request.reference == reference)).one()
        (party,) = session.exec(select(Party).where(Party.request_id == request.id)).all()
        assert session.exec(select(Notice)).all() == []
        assert [row["受付番号"] for row in letters.queue_rows(session, ui_url="http://ui")] == [reference]
    assert party.email == PRINCIPAL["email"]
    assert _trail(settings, reference)[1][:2] == ("operator:sato", "request.entered")
    assert _trail(settings, reference)[1][2] == {
        "channel": "phone",
        "received_on": _today(),
        "acknowledgement": "letter",
        "email_from": "customer_record",
        "found_by": found_by,
    }


@pytest.mark.parametrize(
    ("others", "changes", "field", "message"),
    [
        ((), {"principal_login_id": "A7654321"}, "principal_email", "顧客登録が見つかりません"),  # no record
        (  # the same phone on two records
            ({**contract_subject(), "email": "hanako@example.co.jp", "login_id": "A7654321"},),
            {"principal_login_id": "", "principal_phone": "0312345678"},
            "principal_email",
            "顧客登録が見つかりません",
        ),
        ((), {"channel": "counter"}, "principal_email", "入力してください"),  # only by phone or post
        (  # only the principal's own request
            (),
            {"role": "agent", "requester_name": "代理 人", "requester_email": "agent@example.jp"},
            "principal_email",
            "入力してください",
        ),
        ((), {"postal_address": ""}, "postal_address", "郵送先住所を入力してください"),  # answered by letter
    ],
)
def test_an_email_left_out_that_no_single_record_gives_is_a_422_and_enters_nothing(
    gate, others, changes, field, message
):
    client, settings = gate
    answer = _enter(client, **{**_caller(settings, *others), **changes})
    assert answer.status_code == 422
    shown = re.search(rf'id="{field}-error">([^<]*)<', answer.text)
    assert shown and message in shown[1], answer.text
    with unit_of_work(settings) as session:
        assert session.exec(select(Request)).all() == [] and session.exec(select(Party)).all() == []
        assert session.exec(select(Letter)).all() == []

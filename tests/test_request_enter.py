"""``madoguchi request enter``: the help desk enters a request from a file, logged in; the
clock runs from the day received, the person is named in the audit, a bad day or a letter
without an address exits 2 naming the option, anyone but an operator or the officer exit 1;
a caller's email left out is the customer record's, and the request is answered by letter."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli import app
from demo.fixture import load_fixture_into_systems
from mail.outbox import deliver_pending
from mail.sendgrid_adapter import email_port
from models.audit import AuditEvent
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from models.letters import Letter
from models.requests import Party, Request
from models.rules.access import AccountRole
from models.rules.deadlines import JST, decision_clock, jst_date
from models.schema import upgrade
from models.settings import get_settings
from services import accounts
from tests.services.conftest import PRINCIPAL, contract_subject

PASSWORD = {"sato": "operator password 1", "root": "admin password 123"}
BODY = {
    "request_type": "disclosure",
    "principal": PRINCIPAL,
    "details": {"postal_address": "〒150-0001 東京都渋谷区"},
}


@pytest.fixture
def madoguchi(tmp_path, monkeypatch):
    """``madoguchi …`` on a migrated data folder with an operator and an admin: (exit code, output)."""
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", "request-enter-test")
    monkeypatch.delenv("MADOGUCHI_USER", raising=False)
    get_settings.cache_clear()
    settings = get_settings()
    upgrade(settings)
    with unit_of_work(settings) as session:
        accounts.add(
            session,
            settings,
            "sato",
            AccountRole.OPERATOR,
            PASSWORD["sato"],
            actor="test",
            now=datetime(2026, 12, 1, tzinfo=UTC),
        )
        accounts.add(
            session,
            settings,
            "root",
            AccountRole.ADMIN,
            PASSWORD["root"],
            actor="test",
            now=datetime(2026, 12, 1, tzinfo=UTC),
        )
    file = tmp_path / "request.json"
    file.write_text(json.dumps(BODY, ensure_ascii=False), encoding="utf-8")

    def run(*args: str, user: str = "sato", password: str | None = None):
        result = CliRunner().invoke(
            app,
            ["request", "enter", str(file), "--user", user, *args],
            env={"MADOGUCHI_PASSWORD": password or PASSWORD.get(user, "")},
        )
        assert "Traceback" not in result.output
        return result.exit_code, result.output

    yield run
    get_settings.cache_clear()


def test_a_letter_entered_at_the_command_line_runs_from_the_day_it_arrived(madoguchi):
    arrived = jst_date(utcnow()) - timedelta(days=2)
    code, output = madoguchi("--channel", "post", "--received", arrived.isoformat(), "--letter")
    assert code == 0, output
    reference = output.split()[1]
    assert "/desk/letters" in output
    with unit_of_work() as session:
        request = session.exec(select(Request).where(Request.reference == reference)).one()
        (letter,) = session.exec(select(Letter)).all()
        trail = [
            (e.actor, e.action)
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.subject_ref == reference).order_by(AuditEvent.seq)
            )
        ]
    start = datetime.combine(arrived, datetime.min.time(), JST)
    assert (request.received_at, request.due_at) == (start, decision_clock(start, now=utcnow()).due_at)
    assert (letter.request_id, letter.kind, letter.sent_at) == (request.id, "acknowledgement", None)
    assert trail == [("requester:post", "request.received"), ("operator:sato", "request.entered")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--received", (jst_date(utcnow()) + timedelta(days=1)).isoformat()),
            "--received: must not be in the future",
        ),
        (("--received", "2020-01-01"), "--received: must be within the last 31 days"),
        (("--received", "yesterday"), "--received: a date (YYYY-MM-DD) is required"),
    ],
)
def test_a_bad_day_exits_2_naming_the_option(madoguchi, args, message):
    code, output = madoguchi("--channel", "phone", *args)
    assert (code, message in output) == (2, True), output
    with unit_of_work() as session:
        assert session.exec(select(Request)).all() == []


def test_a_letter_needs_the_address_and_only_the_desk_enters(madoguchi, tmp_path):
    (tmp_path / "request.json").write_text(json.dumps({**BODY, "details": {}}), encoding="utf-8")
    today = jst_date(utcnow()).isoformat()
    code, output = madoguchi("--channel", "counter", "--received", today, "--letter")
    assert (code, "details.postal_address: an acknowledgement by letter needs" in output) == (2, True), output
    assert madoguchi("--channel", "counter", "--received", today, user="root")[0] == 1
    assert madoguchi("--channel", "counter", "--received", today, password="wrong password 1")[0] == 1
    assert madoguchi("--channel", "fax", "--received", today)[0] == 2
    with unit_of_work() as session:
        assert session.exec(select(Request)).all() == []


def test_a_caller_without_an_email_gets_the_registered_one_and_is_answered_by_letter(
    madoguchi, tmp_path, monkeypatch, mail_stub
):
    """Issue 15: a principal calling with their login ID; the email is the customer record's,
    yet nothing is mailed there (they gave none): the acknowledgement is a letter."""
    monkeypatch.setenv("MADOGUCHI_SENDGRID_HOST", mail_stub.url)
    monkeypatch.setenv("MADOGUCHI_SENDGRID_API_KEY", "SG.test")
    get_settings.cache_clear()
    load_fixture_into_systems({"customers": [contract_subject()]}, get_settings())
    caller = {"name": "山田 太郎", "login_id": "A1234567"}
    (tmp_path / "request.json").write_text(json.dumps({**BODY, "principal": caller}), encoding="utf-8")
    code, output = madoguchi("--channel", "phone", "--received", jst_date(utcnow()).isoformat())
    assert code == 0, output
    assert "/desk/letters" in output
    reference = output.split()[1]
    with unit_of_work() as session:
        request = session.exec(select(Request).where(Request.reference == reference)).one()
        (party,) = session.exec(select(Party).where(Party.request_id == request.id)).all()
        (letter,) = session.exec(select(Letter)).all()
        assert session.exec(select(Notice)).all() == []
        entered = session.exec(select(AuditEvent).where(AuditEvent.action == "request.entered")).one()
    assert (party.email, party.login_id) == ("taro@example.co.jp", "A1234567")
    assert (letter.request_id, letter.kind) == (request.id, "acknowledgement")
    assert (entered.actor, entered.details["acknowledgement"]) == ("operator:sato", "letter")
    assert (entered.details["email_from"], entered.details["found_by"]) == ("customer_record", ["login_id"])
    settings = get_settings()
    deliver_pending(settings, email_port(settings))
    assert mail_stub.state.messages == []


@pytest.mark.parametrize(
    ("principal", "channel", "message"),
    [
        ({"login_id": "A7654321"}, "phone", "principal.email: no customer record has this login ID / phone"),
        ({"phone": "03-1234-5678"}, "email", "principal.email: Field required"),
        ({"login_id": "A1234567"}, "post", "details.postal_address: an acknowledgement by letter needs"),
    ],
)
def test_an_email_left_out_with_no_record_or_not_by_phone_or_post_exits_2(
    madoguchi, tmp_path, principal, channel, message
):
    load_fixture_into_systems({"customers": [contract_subject()]}, get_settings())
    body = {**BODY, "principal": {"name": "山田 太郎", **principal}}
    if channel == "post":
        body["details"] = {}
    (tmp_path / "request.json").write_text(json.dumps(body), encoding="utf-8")
    code, output = madoguchi("--channel", channel, "--received", jst_date(utcnow()).isoformat())
    assert (code, message in output) == (2, True), output
    with unit_of_work() as session:
        assert session.exec(select(Request)).all() == [] and session.exec(select(Letter)).all() == []

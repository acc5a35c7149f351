"""``madoguchi request enter``: the help desk enters a request from a file, logged in; the
clock runs from the day received, the person is named in the audit, a bad day or a letter
without an address exits 2 naming the option, anyone but an operator or the officer exit 1."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli import app
from models.audit import AuditEvent
from models.db import unit_of_work, utcnow
from models.letters import Letter
from models.requests import Request
from models.rules.access import AccountRole
from models.rules.deadlines import JST, decision_clock, jst_date
from models.schema import upgrade
from models.settings import get_settings
from services import accounts
from tests.services.conftest import PRINCIPAL

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

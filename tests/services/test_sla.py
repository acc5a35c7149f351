"""The SLA monitor's services, with the clock advanced by passing ``now``: a warning at 70 % and
an escalation at the due date, each once however often the monitor runs; a paused clock warns
nobody; contractors' dates; the digest once a day; the queries on their indexes (SQLite and
PostgreSQL query plans)."""

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from models.audit import AuditEvent
from models.contractors import Contractor
from models.db import captured_statements, get_engine, unit_of_work
from models.requests import RequestCreate
from models.rules.deadlines import decision_clock
from models.schema import upgrade
from services import clarification, intake, sla, sla_report
from services.deadlines import close_overdue
from tests.services.conftest import PRINCIPAL, notices, submit, to_review
from tests.services.conftest import REVIEW_NOW as NOW

CLOCK = decision_clock(NOW, now=NOW)  # every request here is received at NOW
MINUTE = timedelta(minutes=1)


def monitor(settings, now) -> sla.Sent:
    with unit_of_work(settings) as session:
        return sla.notify_deadlines(
            session, settings, sla.due_notices(session, now=now), now=now, ui_url="http://prefect.test"
        )


def actions(settings, prefix: str) -> list[tuple[str, str]]:
    with unit_of_work(settings) as session:
        return [
            (e.action, e.subject_ref)
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.seq)
            )
        ]


def test_warning_at_70_percent_and_escalation_at_due_each_once(desk):
    settings, _ = desk
    reference = submit(settings)
    assert monitor(settings, CLOCK.warn_at - MINUTE) == sla.Sent([], [])
    assert monitor(settings, CLOCK.warn_at + MINUTE) == sla.Sent([reference], [])
    for later in (CLOCK.warn_at + 2 * MINUTE, CLOCK.warn_at + timedelta(hours=5), CLOCK.due_at - MINUTE):
        assert monitor(settings, later) == sla.Sent([], [])
    assert monitor(settings, CLOCK.due_at + MINUTE) == sla.Sent([], [reference])
    for later in (CLOCK.due_at + 2 * MINUTE, CLOCK.due_at + timedelta(days=3)):
        assert monitor(settings, later) == sla.Sent([], [])

    (warning,), (escalation,) = (
        notices(settings, "sla_warning"),
        notices(settings, "privacy_officer_escalation"),
    )
    assert {warning.recipient_email, escalation.recipient_email} == {settings.mail_privacy_officer_email}
    assert warning.idempotency_key == f"{reference}:sla_warning" and warning.context["percent_elapsed"] == 70
    assert escalation.idempotency_key == f"{reference}:escalation:{CLOCK.due_at.date().isoformat()}"
    assert escalation.context["escalation"] == "overdue"
    sent = json.dumps([warning.context, escalation.context], ensure_ascii=False)
    assert not any(value in sent for value in PRINCIPAL.values())
    assert actions(settings, "sla.") == [("sla.warning", reference), ("sla.escalation", reference)]


def test_a_paused_clock_warns_nobody_and_a_moved_due_date_falls_due_again(desk):
    settings, _ = desk
    reference = submit(settings)
    assert monitor(settings, CLOCK.due_at + MINUTE).escalations == [reference]
    to_review(settings, reference)
    with unit_of_work(settings) as session:  # the operator asks; the requester takes 10 days
        clarification.ask(
            session,
            settings,
            reference,
            "どのサービスですか",
            actor="operator:sato",
            now=CLOCK.due_at + timedelta(hours=1),
        )
    assert monitor(settings, CLOCK.due_at + timedelta(days=9)) == sla.Sent([], [])
    with unit_of_work(settings) as session:
        clarification.answer(
            session, settings, reference, "注文履歴です", now=CLOCK.due_at + timedelta(days=10)
        )
        new_due = intake_due(session, reference)
    assert new_due > CLOCK.due_at + timedelta(days=9)
    # past 70 % of the new time: the warning it never had (it went straight to overdue)
    assert monitor(settings, new_due - MINUTE) == sla.Sent([reference], [])
    assert monitor(settings, new_due + MINUTE) == sla.Sent([], [reference])
    assert monitor(settings, new_due + 2 * MINUTE) == sla.Sent([], [])
    assert len(notices(settings, "privacy_officer_escalation")) == 2


def intake_due(session, reference):
    from services.common import load_request

    return load_request(session, reference).due_at


def contractor(reference: str, status: str = "active", reassess=None, expires=None) -> Contractor:
    return Contractor(
        reference=reference,
        name="株式会社配送パートナー",
        services="配送",
        status=status,
        next_reassessment_at=reassess,
        certification_expires_at=expires,
        created_at=NOW,
        updated_at=NOW,
    )


def test_contractor_reassessment_and_certificate_expiry_reported_once_per_date(desk):
    settings, _ = desk
    with unit_of_work(settings) as session:
        session.add_all(
            [
                contractor("C-1", reassess=NOW - timedelta(days=1)),
                contractor("C-2", expires=NOW + timedelta(days=20), reassess=NOW + timedelta(days=200)),
                contractor("C-3", expires=NOW + timedelta(days=40)),  # not yet
                contractor("C-4", status="offboarded", reassess=NOW - timedelta(days=9)),  # not watched
            ]
        )

    def run(now):
        with unit_of_work(settings) as session:
            return sla.notify_contractors(session, settings, sla.contractors_due(session, now=now), now=now)

    assert sorted(run(NOW)) == ["C-1:reassessment:2026-11-30", "C-2:certification_expiry:2026-12-21"]
    assert run(NOW + timedelta(hours=1)) == []
    assert run(NOW + timedelta(days=11)) == ["C-3:certification_expiry:2027-01-10"]
    assert len(notices(settings, "contractor_supervision")) == 3
    assert [a for a, _ in actions(settings, "contractor.")] == [
        "contractor.reassessment_due",
        "contractor.certification_expiry_due",
        "contractor.certification_expiry_due",
    ]


def test_work_queue_and_digest_hold_references_not_personal_data(desk):
    settings, _ = desk
    late, paused = submit(settings), submit(settings)
    to_review(settings, paused)
    with unit_of_work(settings) as session:
        clarification.ask(session, settings, paused, "どのサービスですか", actor="operator:sato", now=NOW)
    now = CLOCK.due_at + timedelta(hours=26)
    with unit_of_work(settings) as session:
        rows = sla.open_requests(session)
        queue = sla_report.work_queue(rows, now=now, ui_url="http://prefect.test")
        digest = sla_report.digest(rows, [], now=now, ui_url="http://prefect.test")
        assert sla_report.send_digest(session, settings, digest, now=now, ui_url="http://prefect.test")
        assert not sla_report.send_digest(
            session, settings, digest, now=now + timedelta(hours=3), ui_url="http://prefect.test"
        )
    left = {r["受付番号"]: r["残り"] for r in queue}
    assert left == {late: "超過 1日 2時間", paused: "時計停止中"}
    assert digest.counts == {"overdue": 1, "due_today": 0, "warning": 0, "paused": 1}
    assert len(notices(settings, "daily_digest")) == 1
    shown = json.dumps(
        [queue, digest.context("http://prefect.test"), sla_report.digest_markdown(digest)], ensure_ascii=False
    )
    assert late in shown and not any(value in shown for value in PRINCIPAL.values())


@pytest.mark.parametrize(
    "hours, text", [(0.5, "残り 0時間"), (5, "残り 5時間"), (49, "残り 2日 1時間"), (-30, "超過 1日 6時間")]
)
def test_time_left_reads_in_days_and_hours(hours, text):
    assert sla_report.time_left(NOW + timedelta(hours=hours), NOW) == text


# --- query plans ---------------------------------------------------------------------------


def plans(settings) -> dict[str, str]:
    """The query plan of each monitor query, as the database would run it."""
    engine = get_engine(settings)
    queries = {
        "due_notices": lambda s: sla.due_notices(s, now=NOW),
        "open_requests": lambda s: sla.open_requests(s, limit=500),
        "count_open": sla.count_open,
        "close_overdue": lambda s: close_overdue(s, settings, now=NOW),
        "contractors_due": lambda s: sla.contractors_due(s, now=NOW),
    }
    found = {}
    sqlite = engine.dialect.name == "sqlite"
    for name, query in queries.items():
        with captured_statements(engine) as seen, unit_of_work(settings) as session:
            query(session)
        statement, params = seen[0]
        with engine.begin() as conn:
            if not sqlite:
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # small tables: is an index usable?
            explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            found[name] = "\n".join(
                " ".join(map(str, row)) for row in conn.exec_driver_sql(explain + statement, params)
            )
    return found


def test_monitor_queries_use_indexes_on_sqlite(settings):
    upgrade(settings)
    found = plans(settings)
    for name in ("due_notices", "open_requests", "count_open"):
        assert "ix_request_open_due" in found[name], found[name]
    assert "ix_clock_pause_open_deadline" in found["close_overdue"], found["close_overdue"]
    assert "ix_contractor_" in found["contractors_due"], found["contractors_due"]
    for plan in found.values():  # every scan goes through an index
        assert all("INDEX" in line for line in plan.splitlines() if "SCAN" in line), plan


@pytest.mark.postgres
def test_monitor_queries_use_indexes_and_find_the_same_on_postgresql(pg_settings):
    upgrade(pg_settings)
    found = plans(pg_settings)
    for name in ("due_notices", "open_requests", "count_open"):
        assert "ix_request_open_due" in found[name], found[name]
    assert "ix_clock_pause_open_deadline" in found["close_overdue"], found["close_overdue"]
    for plan in found.values():
        assert "Seq Scan" not in plan, plan
    with unit_of_work(pg_settings) as session:
        reference = intake.submit(
            session,
            pg_settings,
            RequestCreate.model_validate({"request_type": "disclosure", "principal": PRINCIPAL}),
            now=NOW,
        ).reference
    assert monitor(pg_settings, CLOCK.warn_at + MINUTE) == sla.Sent([reference], [])
    assert monitor(pg_settings, CLOCK.warn_at + 2 * MINUTE) == sla.Sent([], [])
    assert monitor(pg_settings, CLOCK.due_at + MINUTE) == sla.Sent([], [reference])
    assert monitor(pg_settings, CLOCK.due_at + 2 * MINUTE) == sla.Sent([], [])

"""Leak incidents as the service layer keeps them (no Prefect): reported with the rules'
triage, subjects by customer id only, confirmed by the officer, each notice written once, the
drafts filed, and the ground a later erasure request of an affected customer finds."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import select

from models.audit import AuditEvent
from models.db import unit_of_work
from models.fulfilment import Notice
from models.incidents import IncidentSubject
from models.rules.leaks import Triage
from models.rules.vocabulary import ReasonCode as R
from services import incidents, review, sla, sla_report
from tests.services.conftest import REVIEW_NOW as NOW
from tests.services.conftest import create_review_request

EMAIL = "taro@example.co.jp"


def body(**changes) -> dict:
    return {
        "discovered_on": "2026-11-30",
        "systems": ["orders", "billing"],
        "data_items": ["氏名", "メールアドレス"],
        "cause": "設定誤りにより注文履歴が外部から閲覧可能になっていた",
        "affected": [{"email": EMAIL}],
        **changes,
    }


def report(settings, registry, now=NOW, **changes) -> str:
    with unit_of_work(settings) as session:
        return incidents.report_incident(
            session,
            settings,
            incidents.IncidentReport.model_validate(body(**changes)),
            registry=registry,
            actor="operator:sato",
            now=now,
        )


def test_a_report_is_triaged_by_the_rules_and_keeps_customer_ids_only(review_desk):
    settings, registry, load = review_desk
    load()
    reference = report(settings, registry, financial_loss_risk=True)
    with unit_of_work(settings) as session:
        incident = incidents.load_incident(session, reference)
        subjects = session.exec(select(IncidentSubject)).all()
        events = session.exec(select(AuditEvent).where(AuditEvent.subject_ref == reference)).all()
        assert (incident.reportable, incident.triage_cases, incident.notice_method) == (
            True,
            ["financial_loss"],
            "individual",
        )
        # day 30 is 29 December, in the New Year closure: the final report is due on 4 January
        assert (incident.preliminary_due, incident.final_due) == (date(2026, 12, 4), date(2027, 1, 4))
        assert [(s.customer_id, s.language) for s in subjects] == list(
            incidents.resolve_customers(registry, [incidents.AffectedCustomer(email=EMAIL)]).items()
        )
        assert [e.action for e in events] == ["incident.reported"]
        assert EMAIL not in str(events[0].details) and EMAIL not in str(incident.model_dump())


def test_a_small_ordinary_leak_is_not_reportable_and_encryption_exempts(review_desk):
    settings, registry, load = review_desk
    load()
    with unit_of_work(settings) as session:
        plain = incidents.load_incident(session, report(settings, registry))
        assert (plain.reportable, plain.preliminary_due) == (False, None)
        encrypted = incidents.load_incident(
            session, report(settings, registry, sensitive_data=True, encrypted=True)
        )
        assert encrypted.reportable is False


@pytest.mark.parametrize(
    ("changes", "cases"),
    [
        ({"sensitive_data": True}, ["sensitive_data"]),
        ({"financial_loss_risk": True}, ["financial_loss"]),
        ({"improper_purpose": True}, ["wrongful_purpose"]),
        ({"affected_people": 1000}, []),
        ({"affected_people": 1001}, ["over_1000_people"]),
        ({"sensitive_data": True, "improper_purpose": True, "affected_people": 1001, "encrypted": True}, []),
    ],
)
def test_a_report_is_triaged_case_by_case(review_desk, changes, cases):
    settings, registry, load = review_desk
    load()
    with unit_of_work(settings) as session:
        incident = incidents.load_incident(session, report(settings, registry, **changes))
        assert (incident.triage_cases, incident.reportable) == (cases, bool(cases))


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"affected": [{"email": "nobody@example.com"}]}, ("affected", 0, "email")),
        ({"affected": [{"customer_id": "C999999"}]}, ("affected", 0, "customer_id")),
        ({"systems": ["orders", "payroll"]}, ("systems", 1)),
        ({"discovered_on": "2099-01-01"}, ("discovered_on",)),
    ],
)
def test_a_bad_report_names_the_field(review_desk, changes, loc):
    settings, registry, load = review_desk
    load()
    with pytest.raises(incidents.IncidentRejected) as caught:
        report(settings, registry, **changes)
    assert caught.value.loc == loc


def test_the_input_model_refuses_what_makes_no_sense():
    with pytest.raises(ValidationError):
        incidents.IncidentReport.model_validate(body(affected=[{"email": EMAIL, "customer_id": "C1"}]))
    with pytest.raises(ValidationError):
        incidents.IncidentReport.model_validate(body(affected_people=0))
    with pytest.raises(ValidationError):
        incidents.IncidentReport.model_validate(body(systems=[]))


def test_notices_are_written_once_each_and_the_officer_may_correct_the_triage(review_desk):
    settings, registry, load = review_desk
    load()
    reference = report(settings, registry, affected_people=1500)  # more than 1,000: reportable
    with unit_of_work(settings) as session:
        incident = incidents.confirm(
            session, settings, reference, Triage.REPORTABLE_WRONGFUL, actor="officer:tanaka", now=NOW
        )
        assert incident.triage_cases == ["wrongful_purpose", "over_1000_people"]
        assert incident.final_due == date(2027, 1, 28)
        assert incident.notice_method == "public_notice"  # 1,500 people, one listed
    for _ in range(2):
        with unit_of_work(settings) as session:
            incidents.write_notices(session, settings, reference, registry=registry, now=NOW)
    with unit_of_work(settings) as session:
        [notice] = session.exec(select(Notice).where(Notice.kind == "leak_notice")).all()
        assert (notice.recipient_email, notice.idempotency_key.startswith(reference)) == (EMAIL, True)
        assert incidents.notice_progress(session, incidents.load_incident(session, reference)) == (1, 1)


def test_the_drafts_hold_the_art8_items_and_no_personal_data(review_desk):
    settings, registry, load = review_desk
    load()
    reference = report(settings, registry, sensitive_data=True)
    with unit_of_work(settings) as session:
        paths = incidents.write_reports(session, settings, reference)
        markdown = incidents.report_markdown(
            session, incidents.load_incident(session, reference), "preliminary"
        )
    assert all(label in markdown for _, label in incidents.ITEMS) and EMAIL not in markdown
    assert body()["cause"] not in markdown  # free text stays out of Prefect
    assert Path(paths["final"]["pdf"]).read_bytes().startswith(b"%PDF")
    table = Path(paths["preliminary"]["csv"]).read_text(encoding="utf-8-sig")
    assert "提出期限,2026-12-04" in table and body()["cause"] in table and EMAIL not in table


def test_a_later_erasure_request_finds_the_leak_ground_for_the_leaked_systems(review_desk):
    settings, registry, load = review_desk
    load()
    reference = create_review_request(settings, registry, "erasure", ground_codes=["leak_occurred"])
    with unit_of_work(settings) as session:
        before = review.propose(session, settings, reference, registry=registry, now=NOW)
    assert {i.item_key for i in before.items if i.reasons == [R.NO_STATUTORY_GROUND]} >= {"orders"}

    report(settings, registry, sensitive_data=True)
    later = create_review_request(
        settings, registry, "erasure", ground_codes=["leak_occurred"], received_at=NOW + timedelta(days=1)
    )
    with unit_of_work(settings) as session:
        after = {
            i.item_key: i
            for i in review.propose(
                session, settings, later, registry=registry, now=NOW + timedelta(days=1)
            ).items
        }
    assert (after["orders"].proposed_action, after["orders"].system_action) == ("grant", "erase")
    assert after["billing"].reasons == [R.LEGAL_RETENTION_DUTY]  # erasure restricted: bookkeeping law
    assert after["points"].reasons == [R.NO_STATUTORY_GROUND]  # not in the incident


def jst_morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC)  # 09:30 in Japan


def test_the_monitor_warns_before_each_report_deadline_and_escalates_at_it_around_the_new_year(review_desk):
    """Learned on Sunday 27 December: the preliminary report's fifth day falls in the closure, so
    it is due on 4 January; its warning day, two business days before (28 and 25 December), has
    come already, so the officer is warned at once."""
    settings, registry, load = review_desk
    load()
    reference = report(
        settings,
        registry,
        now=jst_morning(date(2026, 12, 27)),
        discovered_on="2026-12-27",
        sensitive_data=True,
    )

    def monitor(day: date) -> list[str]:
        with unit_of_work(settings) as session:
            now = jst_morning(day)
            return sla.notify_incidents(
                session, settings, sla.incident_deadlines(session, now=now), now=now, ui_url="http://ui.test"
            )

    def queue(day: date) -> list[tuple[str, str, str, str]]:
        """The work queue's rows and the digest's list, which must agree."""
        with unit_of_work(settings) as session:
            due = sla.incident_deadlines(session, now=jst_morning(day))
        rows = sla_report.incident_queue(due, ui_url="http://ui.test")
        digest = sla_report.digest([], [], now=jst_morning(day), ui_url="http://ui.test", incidents=due)
        assert [(i["reference"], i["due_date"]) for i in digest.context("http://ui.test")["incidents"]] == [
            (r["受付番号"], r["回答期限"]) for r in rows
        ]
        assert all(f"（{r['残り']}）" in sla_report.digest_markdown(digest) for r in rows)
        return [(r["受付番号"], r["種別"], r["回答期限"], r["残り"]) for r in rows]

    assert monitor(date(2026, 12, 27)) == [f"{reference}:leak_preliminary_warning:2027-01-04"]
    assert monitor(date(2026, 12, 30)) == []  # once
    assert queue(date(2026, 12, 30)) == [  # both reports, the most urgent first, with the days left
        (reference, "漏えい等報告（速報）", "2027-01-04", "残り 5日"),
        (reference, "漏えい等報告（確報）", "2027-01-25", "残り 26日"),
    ]
    assert queue(date(2027, 1, 4))[0][3] == "本日が期限"
    assert monitor(date(2027, 1, 4)) == [f"{reference}:leak_preliminary_overdue:2027-01-04"]
    with unit_of_work(settings) as session:
        incidents.mark_filed(
            session,
            settings,
            reference,
            "preliminary",
            date(2027, 1, 4),
            actor="officer:tanaka",
            now=jst_morning(date(2027, 1, 4)),
        )
    # the final report: day 30 is 25 January (Monday); warned on the two business days before
    assert monitor(date(2027, 1, 20)) == []
    assert monitor(date(2027, 1, 21)) == [f"{reference}:leak_final_warning:2027-01-25"]
    assert monitor(date(2027, 1, 25)) == [f"{reference}:leak_final_overdue:2027-01-25"]
    assert queue(date(2027, 1, 27)) == [
        (reference, "漏えい等報告（確報）", "2027-01-25", "超過 2日")
    ]  # filed: gone
    with unit_of_work(settings) as session:
        [mail] = session.exec(
            select(Notice).where(Notice.idempotency_key.like(f"{reference}:leak_final_overdue%"))
        )
        assert (mail.kind, mail.recipient_email) == (
            "leak_report_deadline",
            settings.mail_privacy_officer_email,
        )


def test_an_open_incident_waits_for_its_run_from_the_dispatcher(review_desk):
    from services import dispatch

    settings, registry, load = review_desk
    load()
    reference = report(settings, registry)
    with unit_of_work(settings) as session:
        assert dispatch.pending_tickets(session) == [("incident", reference)]
        dispatch.mark_ticket_dispatched(session, settings, "incident", reference, "run-1", now=NOW)
        assert dispatch.pending_tickets(session) == []


def test_the_example_file_is_a_valid_report_on_the_demo_seed(settings):
    from pathlib import Path

    from demo.seed import seed_systems
    from deployments.registry import build_registry
    from models.schema import upgrade

    upgrade(settings)
    seed_systems(settings, 3, keys=("customers",))
    registry = build_registry(settings)
    data = incidents.IncidentReport.model_validate_json(
        (Path(__file__).parents[2] / "examples" / "incident.json").read_text("utf-8")
    )
    with unit_of_work(settings) as session:
        reference = incidents.report_incident(
            session, settings, data, registry=registry, actor="operator:sato", now=NOW
        )
        assert incidents.load_incident(session, reference).triage_cases == ["wrongful_purpose"]
    registry.dispose()

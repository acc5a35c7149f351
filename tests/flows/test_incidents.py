"""A leak incident run by its flow on Prefect's test server: reported, triaged by the rules,
confirmed by the privacy officer on the form, 1,000 affected customers told once each even
though the first flow process is killed mid-batch, both report drafts, the filing forms, and
nothing personal in Prefect."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from uuid import UUID

from prefect.client.orchestration import get_client
from sqlmodel import select

from demo.fixture import load_fixture_into_systems, read_fixture
from demo.seed import seed_systems
from demo.world import World
from deployments.registry import build_registry
from flows.forms import filled
from flows.incidents import IncidentTriage, incident_response
from flows.waits import wake
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from services import incidents
from tests.flows.conftest import FIXTURE, FlowThread
from tests.flows.support import events_of, madoguchi, sent_keys, wait_for

REPO = Path(__file__).resolve().parents[2]
EMAIL = "taro@example.co.jp"
CUSTOMERS = 999  # generated, plus the example customer: 1,000 affected
KILL_AFTER = 250  # messages SendGrid accepted before the first flow process is killed

CRASH = textwrap.dedent("""
    import asyncio, os, signal, sys
    from mail.sendgrid_adapter import SendGridAdapter

    _send, sent = SendGridAdapter.send, []

    def send(self, message):
        result = _send(self, message)
        sent.append(result)
        if len(sent) == int(sys.argv[2]):  # accepted by SendGrid, not yet marked sent
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    SendGridAdapter.send = send
    from flows.incidents import incident_response
    asyncio.run(incident_response(sys.argv[1]))
""")


def run_id_of(reference: str) -> str | None:
    with unit_of_work() as session:
        return incidents.load_incident(session, reference).flow_run_id


def paused(reference: str, key: str) -> str | None:
    run_id = run_id_of(reference)
    if not run_id:
        return None
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(run_id)).state
    return (
        run_id
        if state is not None and state.is_paused() and state.state_details.pause_key.startswith(key)
        else None
    )


def report_body() -> dict:
    world = World(CUSTOMERS)
    affected = [
        {"customer_id": world.customer(i).customer_id, "language": "en" if i % 10 == 0 else "ja"}
        for i in range(CUSTOMERS)
    ]
    return {
        "discovered_on": "2026-12-01",
        "systems": ["orders", "customers"],
        "data_items": ["氏名", "メールアドレス", "注文履歴"],
        "cause": "委託先サーバーへの不正アクセス",
        "affected": [*affected, {"email": EMAIL}],
    }


def test_an_incident_for_1000_customers_each_told_once_across_a_killed_run(
    desk, mail_stub, tmp_path, monkeypatch
):
    from prefect.settings import PREFECT_API_URL

    from models.settings import get_settings

    monkeypatch.setenv("MADOGUCHI_MAIL_CLAIM_TIMEOUT_SECONDS", "1")  # the killed run's claim is reconciled
    get_settings.cache_clear()
    settings = get_settings()
    seed_systems(settings, CUSTOMERS, keys=("customers",))
    load_fixture_into_systems(read_fixture(FIXTURE), settings)
    with unit_of_work(settings) as session:
        reference = incidents.report_incident(
            session,
            settings,
            incidents.IncidentReport.model_validate(report_body()),
            registry=build_registry(settings),
            actor="operator:sato",
            now=utcnow(),
        )
    with unit_of_work(settings) as session:
        incident = incidents.load_incident(session, reference)
        assert (incident.reportable, incident.triage_cases) == (False, [])  # 1,000 is not more than 1,000

    script = tmp_path / "crash.py"
    script.write_text(CRASH)
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PYTHONPATH": str(REPO),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    log = tmp_path / "flow.log"
    process = subprocess.Popen(
        [sys.executable, str(script), reference, str(KILL_AFTER)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        wait_for(
            lambda: paused(reference, "officer-incident-triage") or process.poll() is not None,
            timeout=90,
            what="the triage form",
        )
        assert process.poll() is None, log.read_text()[-3000:]
        # the officer finds the attack was a wrongful purpose: reportable, final report in 60 days
        assert wake(
            paused(reference, "officer-incident-triage"),
            filled(IncidentTriage, triage="reportable_wrongful", actor="tanaka"),
        )
        assert process.wait(timeout=120) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    assert len(sent_keys(mail_stub)) == KILL_AFTER

    run = FlowThread(incident_response, reference, run_id_of)
    run_id = run.wait_until_paused(timeout=180)
    assert paused(reference, "officer-incident-preliminary-filed")
    assert wake(run_id, {"filed_on": "2026-12-04", "actor": "tanaka"})
    wait_for(
        lambda: paused(reference, "officer-incident-final-filed"), timeout=60, what="the final report's form"
    )
    assert wake(run_id, {"filed_on": "2027-01-20", "actor": "tanaka"})
    assert run.join() == incidents.CLOSED

    with unit_of_work(settings) as session:
        incident = incidents.load_incident(session, reference)
        notices = session.exec(select(Notice).where(Notice.kind == "leak_notice")).all()
    assert (incident.confirmed_by, incident.triage_cases) == ("officer:tanaka", ["wrongful_purpose"])
    assert (incident.preliminary_filed_on.isoformat(), incident.final_filed_on.isoformat()) == (
        "2026-12-04",
        "2027-01-20",
    )
    assert incident.final_due.isoformat() == "2027-01-29"  # day 60 of a wrongful purpose
    # each of the 1,000 told once: one notice each, one message each at SendGrid
    assert len(notices) == 1000 and all(n.state == "sent" for n in notices)
    assert Counter(n.language for n in notices) == {"ja": 900, "en": 100}
    sent = Counter(k for k in sent_keys(mail_stub) if ":leak_notice:" in k)
    assert len(sent) == 1000 and set(sent.values()) == {1}
    assert EMAIL in {n.recipient_email for n in notices}
    assert Path(incident.reports["final"]["pdf"]).read_bytes().startswith(b"%PDF")
    actions = [e.action for e in events_of(settings, reference)]
    assert actions[:2] == ["incident.reported", "incident.triage_confirmed"]
    assert {"incident.preliminary_filed", "incident.final_filed", "incident.closed"} <= set(actions)

    assert asyncio.run(incident_response(reference)) == incidents.CLOSED  # a re-run does nothing more
    assert len(sent_keys(mail_stub)) == 1000

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(UUID(run_id))
        artifacts = client.read_artifacts()
    assert (flow_run.name, flow_run.parameters) == (reference, {"reference": reference})
    keys = {a.key for a in artifacts}
    assert {
        f"{reference.lower()}-triage",
        f"{reference.lower()}-notices",
        f"{reference.lower()}-final",
    } <= keys
    held = json.dumps(
        [flow_run.model_dump(mode="json"), [a.model_dump(mode="json") for a in artifacts]], ensure_ascii=False
    )
    assert reference in held
    for personal in (EMAIL, "山田", World(CUSTOMERS).customer(1).email, report_body()["cause"]):
        assert personal not in held, personal


def test_the_command_line_reports_lists_and_shows_and_refuses_a_bad_file_by_field(desk, tmp_path):
    file = tmp_path / "incident.json"
    file.write_text(
        json.dumps(
            {
                "discovered_on": "2026-12-01",
                "systems": ["orders"],
                "data_items": ["注文履歴"],
                "cause": "誤送信",
                "sensitive_data": True,
                "affected": [{"email": EMAIL}],
            }
        ),
        "utf-8",
    )
    reported = madoguchi("incident", "report", str(file), user="sato")
    assert reported.exit_code == 0, reported.output
    reference = reported.output.strip()
    assert [e.actor for e in events_of(desk, reference, "incident.reported")] == ["operator:sato"]
    assert reference in madoguchi("incident", "list").output
    shown = madoguchi("incident", "show", reference).output
    assert "sensitive_data" in shown and "reportable" in shown and EMAIL not in shown

    for body, message in (
        (dict(json.loads(file.read_text("utf-8")), systems=["payroll"]), "systems.0: no such system"),
        ({"systems": ["orders"]}, "discovered_on: Field required"),
        (
            dict(json.loads(file.read_text("utf-8")), affected=[{"email": "x@example.com"}]),
            "affected.0.email: no such customer",
        ),
    ):
        file.write_text(json.dumps(body), "utf-8")
        refused = madoguchi("incident", "report", str(file), user="sato")
        assert refused.exit_code == 2 and message in refused.output, refused.output
    file.write_text("{not json", "utf-8")
    assert madoguchi("incident", "report", str(file), user="sato").exit_code == 2
    assert madoguchi("incident", "show", "L-000000-NOSUCH").exit_code == 1


def test_when_not_everyone_is_known_the_officer_records_the_public_notice(desk, mail_stub):
    from flows.incidents import PublicNotice, ReportFiled

    settings = desk
    body = {
        "discovered_on": "2026-12-01",
        "systems": ["orders"],
        "data_items": ["注文履歴"],
        "cause": "誤送信",
        "affected_people": 5000,
        "affected": [{"email": EMAIL}],
    }
    with unit_of_work(settings) as session:
        reference = incidents.report_incident(
            session,
            settings,
            incidents.IncidentReport.model_validate(body),
            registry=build_registry(settings),
            actor="operator:sato",
            now=utcnow(),
        )
    run = FlowThread(incident_response, reference, run_id_of)
    run_id = run.wait_until_paused()
    assert wake(run_id, filled(IncidentTriage, triage="reportable", actor="tanaka"))
    wait_for(
        lambda: paused(reference, "officer-incident-public-notice"), timeout=60, what="the public notice form"
    )
    assert wake(
        run_id, filled(PublicNotice, public_notice="2026-12-03 当社ウェブサイトのお知らせ", actor="tanaka")
    )
    for report, day in (("preliminary", "2026-12-04"), ("final", "2026-12-25")):
        wait_for(
            lambda report=report: paused(reference, f"officer-incident-{report}-filed"),
            timeout=60,
            what=report,
        )
        assert wake(run_id, filled(ReportFiled[report], filed_on=day, actor="tanaka"))
    assert run.join() == incidents.CLOSED
    with unit_of_work(settings) as session:
        incident = incidents.load_incident(session, reference)
        assert (incident.notice_method, incident.public_notice) == (
            "public_notice",
            "2026-12-03 当社ウェブサイトのお知らせ",
        )
        assert incidents.report_markdown(session, incident, "final").count("当社ウェブサイトのお知らせ") == 2
    [known] = incidents.resolve_customers(build_registry(settings), [incidents.AffectedCustomer(email=EMAIL)])
    assert sent_keys(mail_stub) == [incidents.notice_key(reference, known)]  # the one known is told too
    assert [e.actor for e in events_of(settings, reference, "incident.public_notice")] == ["officer:tanaka"]

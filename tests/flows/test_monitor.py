"""The monitors as Prefect runs them: a requester wait past its deadline closed and its
waiting run woken; a warning and an escalation sent once over repeated runs and delivered; the
work-queue and digest artifacts with references and links, and no personal data."""

import json
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

from sqlmodel import select

from flows.monitor import daily_digest, sla_monitor
from models.audit import latest_checkpoint, load_chain
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from models.incidents import Incident
from models.requests import Document, Request, RequestCreate
from models.rules.deadlines import SlaStage, decision_clock, jst_date
from models.rules.entry import Acknowledgement, Channel
from models.rules.vocabulary import Status
from services import closing, intake
from services.clock import open_pause
from services.common import load_request
from tests.flows.conftest import PRINCIPAL, Run, submit
from tests.flows.support import upload


def submitted_at(settings, received) -> str:
    body = {"request_type": "disclosure", "principal": PRINCIPAL}
    with unit_of_work(settings) as session:
        return intake.submit(session, settings, RequestCreate.model_validate(body), now=received).reference


def in_warning_stage(now):
    """A receipt time whose request is past 70 % of its time but not yet due, whatever today is."""
    for days in range(12, 0, -1):
        received = now - timedelta(days=days)
        if decision_clock(received, now=received).stage(now) is SlaStage.WARNING:
            return received
    raise AssertionError("no receipt time in the warning stage")


def kinds(settings, kind: str) -> list[Notice]:
    with unit_of_work(settings) as session:
        return list(session.exec(select(Notice).where(Notice.kind == kind)))


def latest_artifact(key: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactCollectionFilter,
        ArtifactCollectionFilterKey,
    )

    with get_client(sync_client=True) as client:
        (artifact,) = client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key]))
        )
    return artifact


def test_a_requester_wait_past_its_deadline_is_closed_and_its_run_woken(desk):
    reference = submit(desk)
    run = Run(reference)
    run.wait_until_paused()  # for the one-time code
    with unit_of_work(desk) as session:
        pause = open_pause(session, load_request(session, reference))
        pause.deadline_at = utcnow() - timedelta(minutes=1)
        session.add(pause)
    report = sla_monitor()
    assert (report["closed"], report["woken"]) == (1, 1)
    assert run.join() == "refused"
    with unit_of_work(desk) as session:
        request = load_request(session, reference)
        assert (request.status, request.reason_codes) == (Status.REFUSED, ["identity_not_verified"])
    assert [n.state for n in kinds(desk, "decision")] == ["sent"]


def test_a_run_whose_wake_was_lost_is_woken_by_the_monitor_and_goes_on(autopilot):
    from demo import inbox
    from services import clarification, identity

    settings = autopilot
    reference = submit(settings, "purpose_notification")
    run = Run(reference)
    run.wait_until_paused()  # for the one-time code
    code = inbox.latest_code(settings.sendgrid_host, reference)
    with unit_of_work(settings) as session:  # entered; the intake's wake never reached Prefect
        identity.submit_code(session, settings, reference, code, now=utcnow())
    other = submit(settings, "purpose_notification")
    waiting = Run(other)
    waiting.wait_until_paused()  # still waiting for its code: not stale, left alone
    report = sla_monitor()
    assert report["stale_woken"] == 1
    assert run.join() == "completed"
    assert sla_monitor()["stale_woken"] == 0
    with unit_of_work(settings) as session:  # let the other one go
        clarification.withdraw(session, settings, other, now=utcnow())
    waiting.answer()
    assert waiting.join() == "withdrawn"


def test_warning_and_escalation_once_and_a_work_queue_without_personal_data(desk):
    from tasks.monitor import ui_url

    now = utcnow()
    late, warned = submitted_at(desk, now - timedelta(days=16)), submitted_at(desk, in_warning_stage(now))
    body = {
        "request_type": "disclosure",
        "principal": PRINCIPAL,
        "details": {"postal_address": "東京都千代田区"},
    }
    with unit_of_work(
        desk
    ) as session:  # entered by the help desk, its acknowledgement a letter still to post
        posted = intake.enter(
            session,
            desk,
            RequestCreate.model_validate(body),
            channel=Channel.POST,
            received_on=jst_date(now),
            acknowledgement=Acknowledgement.LETTER,
            actor="operator:sato",
            now=now,
        ).reference
    run_id = str(uuid4())
    with unit_of_work(desk) as session:
        load_request(session, late).flow_run_id = run_id
        today = jst_date(now)  # a reportable leak: its preliminary report due in 3 days, the final in 30
        session.add(
            Incident(
                reference="L-261201-ABCDEF",
                discovered_on=today,
                cause="誤送信",
                reportable=True,
                status="confirmed",
                preliminary_due=today + timedelta(days=3),
                final_due=today + timedelta(days=30),
                reported_by="operator:sato",
                created_at=now,
            )
        )

    first, again = sla_monitor(), sla_monitor()
    assert (first["warnings"], first["escalations"]) == (1, 1)
    with unit_of_work(desk) as session:  # the head the run left, signed into the file; the
        _, head = load_chain(session)  # second run, which wrote nothing, added no line
    checkpoint = latest_checkpoint(desk.audit_checkpoint_path)
    assert first["checkpoint"] == again["checkpoint"] == checkpoint.seq == head.seq > 0
    assert len(desk.audit_checkpoint_path.read_text().splitlines()) == 1
    assert (again["warnings"], again["escalations"]) == (0, 0)
    (warning,), (escalation,) = kinds(desk, "sla_warning"), kinds(desk, "privacy_officer_escalation")
    assert (warning.context["reference"], escalation.context["reference"]) == (warned, late)
    assert warning.state == escalation.state == "sent"
    assert escalation.context["ui_url"] == f"{ui_url()}/runs/flow-run/{run_id}"

    queue = latest_artifact("work-queue")
    rows = {row["受付番号"]: row for row in json.loads(queue.data)}
    assert (posted, "印刷待ちの書面") in [(row["受付番号"], row["状態"]) for row in json.loads(queue.data)]
    assert {late, warned} <= set(rows)
    assert rows[late]["フロー実行"] == f"{ui_url()}/runs/flow-run/{run_id}"
    assert rows[late]["残り"].startswith("超過") and rows[warned]["残り"].startswith("残り")
    leaks = [
        (row["種別"], row["残り"]) for row in json.loads(queue.data) if row["受付番号"] == "L-261201-ABCDEF"
    ]
    assert leaks == [("漏えい等報告（速報）", "残り 3日"), ("漏えい等報告（確報）", "残り 30日")]

    assert daily_digest()["emailed"] and not daily_digest()["emailed"]
    (mailed,) = kinds(desk, "daily_digest")
    digest = latest_artifact("sla-digest")
    assert late in digest.data and warned in digest.data
    assert "速報 期限" in digest.data and "（残り 3日）" in digest.data
    assert [(i["report"], i["days_left"]) for i in mailed.context["incidents"]] == [
        ("preliminary", 3),
        ("final", 30),
    ]
    # the request register's last three months, the chart inline (services/register.py)
    assert "](data:image/png;base64," in digest.data
    assert mailed.context["register"]["chart"].startswith("data:image/png;base64,")
    with unit_of_work(desk) as session:  # every request of the desk is within the last three months
        received = len(session.exec(select(Request.id)).all())
    assert sum(int(row[2]) for row in mailed.context["register"]["rows"] if row[1] == "計") == received >= 2
    # Each digest run signs the head anew: the mail carries the one of the day's first run (the
    # head the monitor left), the artifact the latest run's.
    assert (mailed.context["checkpoint"]["seq"], mailed.context["checkpoint"]["hash"]) == (
        checkpoint.seq,
        checkpoint.last_hash,
    )
    latest = latest_checkpoint(desk.audit_checkpoint_path)
    assert latest.seq > checkpoint.seq
    assert f"監査証跡のチェックポイント: #{latest.seq} `{latest.last_hash}`" in digest.data
    shown = json.dumps([queue.model_dump(mode="json"), digest.model_dump(mode="json")], ensure_ascii=False)
    assert not [value for value in PRINCIPAL.values() if value in shown]


def test_the_monitor_purges_the_files_of_requests_closed_longer_ago_than_the_retention(desk):
    settings, now = desk, utcnow()
    long_ago, lately = submit(settings), submit(settings)
    for reference, closed_at in (
        (long_ago, now - timedelta(days=settings.document_retention_days, hours=1)),
        (lately, now - timedelta(days=1)),
    ):
        upload(settings, reference, "power_of_attorney")
        with unit_of_work(settings) as session:
            closing.close(
                session, settings, reference, status=Status.WITHDRAWN, outcome=None, reasons=[], now=closed_at
            )
    with unit_of_work(settings) as session:
        paths = [Path(d.stored_path) for d in session.exec(select(Document).order_by(Document.id))]

    assert (sla_monitor()["purged"], sla_monitor()["purged"]) == (1, 0)
    assert not paths[0].exists() and paths[1].exists()

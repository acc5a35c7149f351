"""Provision reviews run by their flow on Prefect's test server: the privacy officer decides
from the command line or the form, autopilot takes the proposal, a provision is recorded,
and the records the law requires reach a later disclosure package built by the lifecycle."""

import asyncio
import io
import json
import re
import zipfile
from datetime import timedelta
from urllib.parse import parse_qs, urlparse
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from sqlmodel import select

from demo import inbox
from disclosure.download import open_package
from flows.provision import provision_review
from flows.waits import wake
from models.db import unit_of_work, utcnow
from models.ledgers import ProvisionRecord
from models.settings import get_settings
from services import provision as service
from tests.flows.conftest import Run, enter_code, submit
from tests.flows.support import events_of, madoguchi
from tests.flows.tickets import cli, run_id_of, ticket_run

SUBJECT = {"email": "taro@example.co.jp", "name": "山田 太郎"}
POLICE = {
    "third_party": {"kind": "police", "name": "警視庁豊洲警察署"},
    "subject": SUBJECT,
    "items": ["name", "phone"],
    "basis": "police_written_inquiry",
}
PARTNER = {
    "third_party": {"kind": "business_partner", "name": "株式会社オフィス便利"},
    "subject": SUBJECT,
    "items": ["name", "company"],
    "basis": "consent",
}


@pytest.fixture
def autopilot(monkeypatch, desk):
    monkeypatch.setenv("MADOGUCHI_AUTOPILOT", "1")
    get_settings.cache_clear()
    return get_settings()


def enter(settings, tmp_path, body: dict) -> str:
    """Entered as an operator does: ``madoguchi provision request FILE.json``."""
    path = tmp_path / "provision.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return cli("provision", "request", str(path), user="sato").strip()


def review_of(settings, reference):
    with unit_of_work(settings) as session:
        return service.load_review(session, reference)


def records_of(settings, reference) -> list[ProvisionRecord]:
    with unit_of_work(settings) as session:
        return list(session.exec(select(ProvisionRecord).where(ProvisionRecord.source_ref == reference)))


def test_police_inquiry_without_legal_basis_is_refused_even_when_the_officer_says_provide(desk, tmp_path):
    settings = desk
    reference = enter(settings, tmp_path, POLICE)  # no written inquiry (照会書)
    run = ticket_run(provision_review, reference)
    run.wait_until_paused(after=0)
    cli("provision", "decide", reference, user="tanaka")  # "provide": not allowed
    run.wait_until_paused(after=1)  # asked again, with the reason on the form
    cli("provision", "decide", reference, "--refuse", "--note", "照会書なし", user="tanaka")
    assert run.join() == "refused"
    review = review_of(settings, reference)
    assert (review.decided_by, review.proposal["problems"]) == ("officer:tanaka", ["no_written_request"])
    assert records_of(settings, reference) == []
    assert [e.action for e in events_of(settings, reference)][-1] == "provision.refused"


def test_police_inquiry_with_its_written_inquiry_is_provided_and_recorded(desk, tmp_path):
    settings = desk
    reference = enter(settings, tmp_path, {**POLICE, "document_ref": "豊洲署刑組第123号"})
    run = ticket_run(provision_review, reference)
    run_id = run.wait_until_paused()
    assert wake(
        run_id, {"decision": "提供する", "note": "", "actor": "tanaka"}
    )  # the UI's Resume, as the gate stamps it
    assert run.join() == "provided"
    [record] = records_of(settings, reference)
    assert (record.recipient, record.subject_email, record.items, record.basis) == (
        "警視庁豊洲警察署",
        "taro@example.co.jp",
        ["name", "phone"],
        "police_written_inquiry",
    )
    assert timedelta(days=3 * 365) <= record.keep_until - record.provided_at <= timedelta(days=3 * 366)
    assert asyncio.run(provision_review(reference)) == "provided"  # a re-run
    assert len(records_of(settings, reference)) == 1
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(UUID(run_id))
        artifacts = client.read_artifacts()
    assert (flow_run.name, flow_run.parameters) == (reference, {"reference": reference})
    summary = [a for a in artifacts if a.key == f"provision-{reference.lower()}"]
    assert summary and "197" in summary[0].data
    assert not any(
        s in json.dumps([a.model_dump(mode="json") for a in summary], ensure_ascii=False)
        for s in ("山田", "taro", "豊洲警察署")
    )


def test_consent_based_provision_without_consent_is_refused_on_autopilot(autopilot, tmp_path):
    settings = autopilot
    reference = enter(settings, tmp_path, PARTNER)
    assert asyncio.run(provision_review(reference)) == "refused"
    assert review_of(settings, reference).decided_by == "autopilot"
    assert records_of(settings, reference) == []


def test_a_recorded_provision_appears_in_a_later_disclosure(autopilot, tmp_path):
    settings = autopilot
    cli("provision", "consent", "taro@example.co.jp", "--source", "signed-form-17", user="sato")
    partner = enter(settings, tmp_path, PARTNER)
    police = enter(settings, tmp_path, {**POLICE, "document_ref": "照会書第9号"})
    assert asyncio.run(provision_review(partner)) == asyncio.run(provision_review(police)) == "provided"
    assert run_id_of(partner) and records_of(settings, partner)[0].consent_ref.startswith("consent_event:")

    reference = submit(settings, "disclosure", details={"include_third_party_records": True})
    run = Run(reference)
    enter_code(settings, reference, run)
    assert run.join() == "completed"
    link = re.search(
        r"http\S+/packages/\S+", inbox.text_of(inbox.messages(settings.sendgrid_host, reference)[-1])
    )
    token = parse_qs(urlparse(link.group(0)).query)["token"][0]
    with unit_of_work(settings) as session:
        _, blob = open_package(session, settings, reference, token, utcnow())
    package = json.loads(zipfile.ZipFile(io.BytesIO(blob)).read(f"{reference}-disclosure.json"))
    shown = {r["recipient"]: r for r in package["third_party_provision_records"]}
    assert shown["株式会社オフィス便利"] == {
        "consent": True,
        "recipient": "株式会社オフィス便利",
        "principal": "山田 太郎",
        "data_items": ["name", "company"],
    }
    assert "警視庁豊洲警察署" not in shown  # an Art. 27(1) exception: recorded, never disclosed


def test_work_recorded_from_the_command_line_names_the_account_and_needs_its_role(autopilot, tmp_path):
    """Entering a provision request, consent, a reassessment, an offboarding: who did it is
    the account that logged in, never a typed name."""
    settings = autopilot
    reference = enter(settings, tmp_path, PARTNER)  # entered as sato, an operator
    assert [e.actor for e in events_of(settings, reference, "provision.received")] == ["operator:sato"]
    refused = madoguchi("contractor", "offboard", "C-261201-ABCDEF", user="sato")
    assert refused.exit_code == 1 and "needs the role officer" in refused.output
    wrong = madoguchi(
        "provision",
        "consent",
        "taro@example.co.jp",
        "--source",
        "form-1",
        user="sato",
        password="not the password",
    )
    assert wrong.exit_code == 1 and "login refused" in wrong.output

"""A privacy policy revision on Prefect's test server: a new purpose of use proposed, the diff
artifact, the officer's approval (a date too soon refused, an operator refused, the officer
from the command line), the advance notice to every customer (an opted-out one too), none
twice on a re-run, and the version recorded on requests received before and after the date in
force. Bad files at the command line get clear errors."""

import asyncio
import json
from datetime import datetime, time, timedelta
from uuid import UUID

from prefect.client.orchestration import get_client
from sqlmodel import select

from demo.fixture import load_fixture_into_systems
from flows.forms import filled
from flows.policy import PolicyApproval, policy_revision
from flows.waits import wake
from mail.optout import opt_out
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from models.policy import PUBLISHED, shipped
from models.rules.deadlines import JST, jst_date
from models.rules.policy import NOTICE_LEAD_DAYS
from services import policy as service
from tests.flows.conftest import FlowThread, submit
from tests.flows.support import events_of, madoguchi, request_of, sent_keys

V1 = shipped()[0].text
BILLING = "b)本サービスご利用代金のご請求のため。"
NEW_PURPOSE = "与信審査および債権管理のため。"
HANAKO = "hanako@example.co.jp"


def run_id_of(reference: str) -> str | None:
    with unit_of_work() as session:
        return service.load(session, int(reference.removeprefix("policy-v"))).flow_run_id


def policy_notices(settings, version: int) -> list[Notice]:
    with unit_of_work(settings) as session:
        return list(
            session.exec(
                select(Notice)
                .where(Notice.kind == "policy_revision")
                .where(Notice.idempotency_key.like(f"policy-v{version}:%"))
                .order_by(Notice.id)
            )
        )


def test_a_new_purpose_is_approved_published_and_told_to_every_customer_once(desk, mail_stub, tmp_path):
    settings = desk
    load_fixture_into_systems({"customers": [{"name": "鈴木 花子", "email": HANAKO}]}, settings)
    with unit_of_work(settings) as session:  # an opted-out customer still gets an important notice
        opt_out(session, "taro@example.co.jp", "test", utcnow(), settings=settings, suppress=False)
    before = request_of(settings, submit(settings))
    assert before.policy_version == 1

    proposal = tmp_path / "policy-v2.txt"
    proposal.write_text(V1.replace(BILLING, f"{BILLING}\n\n      h){NEW_PURPOSE}"), encoding="utf-8")
    with unit_of_work(settings) as session:
        version = service.propose(
            session, settings, proposal.read_text(), actor="operator:sato", now=utcnow()
        ).version
    assert version == 2
    run = FlowThread(policy_revision, "policy-v2", run_id_of)
    run_id = run.wait_until_paused(after=0)

    with get_client(sync_client=True) as client:
        artifact = client.read_latest_artifacts()  # the diff, for the officer
        flow_run = client.read_flow_run(UUID(run_id))
    [diff] = [a for a in artifact if a.key == "policy-v2-diff"]
    assert NEW_PURPOSE in diff.data and "法18条1項" in diff.data and "```diff" in diff.data
    assert (flow_run.name, flow_run.parameters) == ("policy-v2", {"reference": "policy-v2"})

    today = jst_date(utcnow())
    too_soon = today + timedelta(days=NOTICE_LEAD_DAYS - 1)
    assert wake(run_id, filled(PolicyApproval, decision="approve", in_force_on=too_soon, actor="tanaka"))
    run.wait_until_paused(after=1)  # asked again, saying why
    cli_too_soon = madoguchi("policy", "approve", "2", "--in-force-on", too_soon.isoformat(), user="tanaka")
    assert cli_too_soon.exit_code == 2 and "too soon" in cli_too_soon.output
    in_force_on = today + timedelta(days=NOTICE_LEAD_DAYS)
    by_operator = madoguchi("policy", "approve", "2", "--in-force-on", in_force_on.isoformat(), user="sato")
    assert by_operator.exit_code == 1 and "refused" in by_operator.output
    approved = madoguchi("policy", "approve", "2", "--in-force-on", in_force_on.isoformat(), user="tanaka")
    assert approved.exit_code == 0, approved.output
    assert run.join() == PUBLISHED

    with unit_of_work(settings) as session:
        row = service.load(session, 2)
    assert (row.status, row.in_force_on, row.approved_by) == (PUBLISHED, in_force_on, "officer:tanaka")
    assert row.notified_at is not None  # no longer an open case for the recovery sweep
    notices = policy_notices(settings, 2)
    assert sorted(n.recipient_email for n in notices) == sorted(["taro@example.co.jp", HANAKO])
    assert {(n.state, n.language, n.policy_version) for n in notices} == {("sent", "ja", 1)}
    assert notices[0].context["changes"] == [{"change": "added", "label": "h", "text": NEW_PURPOSE}]
    sent = [m for m in mail_stub.state.messages if "プライバシーポリシー改定" in m["subject"]]
    assert len(sent) == 2 and "/policy/2" in sent[0]["content"][0]["value"]
    assert [e.action for e in events_of(settings, "policy-v2")] == [
        "policy.proposed",
        "policy.published",
        "policy.customers_notified",
        "notice.sent",
        "notice.sent",
    ]
    assert [e.actor for e in events_of(settings, "policy-v2", "policy.published")] == ["officer:tanaka"]

    keys = sent_keys(mail_stub)
    assert asyncio.run(policy_revision("policy-v2")) == PUBLISHED  # a re-run writes and sends nothing twice
    assert sent_keys(mail_stub) == keys and len(policy_notices(settings, 2)) == 2
    assert [n.attempts for n in policy_notices(settings, 2)] == [1, 1]

    with get_client(sync_client=True) as client:
        inputs = client.filter_flow_run_input(UUID(run_id), "", 100, set())
    held = json.dumps([i.model_dump(mode="json") for i in inputs], ensure_ascii=False)
    assert "tanaka" in held and "taro@" not in held and HANAKO not in held

    assert request_of(settings, submit(settings)).policy_version == 1  # v2 is not in force yet
    in_force = datetime.combine(in_force_on, time(9), JST)
    with unit_of_work(settings) as session:
        assert service.in_force(session, in_force).version == 2
    later = _submit_at(settings, in_force)
    assert request_of(settings, later).policy_version == 2


def _submit_at(settings, at: datetime) -> str:
    from models.requests import RequestCreate
    from services import intake
    from tests.flows.conftest import PRINCIPAL

    with unit_of_work(settings) as session:
        return intake.submit(
            session,
            settings,
            RequestCreate.model_validate({"request_type": "disclosure", "principal": PRINCIPAL}),
            now=at,
        ).reference


def test_bad_files_are_refused_with_a_clear_message(desk, tmp_path):
    cases = {
        "empty.txt": (b"", "the file is empty"),
        "latin1.txt": ("利用目的".encode("shift_jis"), "not UTF-8"),
        "same.txt": (V1.encode(), "the same as version 1"),
        "no-purposes.txt": (
            "ポリシー\n  1. 安全管理\n    措置を講じます。\n".encode(),
            "no section on the purposes of use",
        ),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        result = madoguchi("policy", "propose", str(tmp_path / name), user="sato")
        assert result.exit_code == 2 and message in result.output, (name, result.output)
    missing = madoguchi("policy", "propose", str(tmp_path / "missing.txt"), user="sato")
    assert missing.exit_code == 2 and "does not exist" in missing.output
    listed = madoguchi("policy", "list")
    assert listed.exit_code == 0 and "*   1  published" in listed.output
    assert madoguchi("policy", "show", "9").exit_code == 1
    assert "プライバシーポリシー" in madoguchi("policy", "show", "1", "--text").output

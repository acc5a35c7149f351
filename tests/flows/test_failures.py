"""Systems that fail, and a flow process that dies mid-fulfilment: the request still finishes,
no system action is applied twice and no email is sent twice."""

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from uuid import UUID

import pytest

from demo import inbox
from models.db import unit_of_work, utcnow
from models.settings import get_settings
from services import identity
from services.common import load_request
from tests.flows.conftest import Run, enter_code, notices_of, submit
from tests.flows.support import (
    actions_of,
    customer_row,
    events_of,
    ledgers,
    operator,
    reload_subject,
    request_of,
    sent_keys,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]
OPTED_OUT = {"consented": True, "opted_out": True, "mailed_after_opt_out": True}
NEW_PHONE = "090-2222-3333"


@pytest.fixture
def faults(monkeypatch, autopilot):
    def configure(faults: str, retries: int = 3):
        monkeypatch.setenv("MADOGUCHI_SYSTEM_FAULTS", faults)
        monkeypatch.setenv("MADOGUCHI_FULFILMENT_RETRIES", str(retries))
        get_settings.cache_clear()
        return get_settings()

    return configure


def _suspension(settings) -> str:
    """A suspension that restricts the marketing list only (mail after an opt-out)."""
    reload_subject(settings, marketing=OPTED_OUT)
    return submit(settings, "suspension", details={"ground_codes": ["rights_harmed"]})


def test_a_system_that_fails_twice_then_succeeds_is_acted_on_once(faults):
    settings = faults('{"marketing": 2}')
    reference = _suspension(settings)
    run = Run(reference)
    enter_code(settings, reference, run)
    assert run.join() == "completed"
    action = actions_of(settings, reference)[("marketing", "restrict")]
    assert (action.state, action.attempts, action.affected) == ("done", 3, 1)  # the subscription
    assert ledgers(settings)["marketing"] == [action.idempotency_key]
    done = events_of(settings, reference, "fulfilment.done")
    assert [(e.details["system"], e.details["attempts"]) for e in done] == [("marketing", 3)]
    assert not events_of(settings, reference, "fulfilment.failed")


def test_a_system_that_keeps_failing_waits_and_is_skipped_by_the_operator(faults):
    settings = faults('{"marketing": 1000}', retries=1)
    reference = _suspension(settings)
    run = Run(reference)
    enter_code(settings, reference, run)
    run.wait_until_paused()
    request = request_of(settings, reference)
    assert request.status == "fulfilment"
    action = actions_of(settings, reference)[("marketing", "restrict")]
    assert (action.state, action.attempts) == ("failed", 2)
    assert "TransientSystemError" in action.last_error
    operator(
        "system",
        reference,
        "marketing",
        "--decision",
        "skip",
        "--reason",
        "配信停止を手作業で確認済み",
        user="suzuki",
    )
    assert run.join() == "completed"
    action = actions_of(settings, reference)[("marketing", "restrict")]
    assert (action.state, action.decided_by, action.note) == (
        "skipped",
        "operator:suzuki",
        "配信停止を手作業で確認済み",
    )
    assert ledgers(settings)["marketing"] == []
    skipped = events_of(settings, reference, "fulfilment.skip")
    assert [(e.actor, e.details["reason_given"]) for e in skipped] == [("operator:suzuki", True)]
    decision = notices_of(settings, reference)[-1]
    assert decision.kind == "decision"
    by_system = {i["system"]: i["outcome"] for i in decision.context["items"]}
    assert by_system["marketing"] == "not_carried_out"  # skipped, so not told it was done


CRASH = textwrap.dedent("""
    import asyncio, os, signal, sys
    from systems.connector import DatabaseConnector

    _rectify = DatabaseConnector.rectify

    def rectify(self, identity, changes, *, idempotency_key):
        result = _rectify(self, identity, changes, idempotency_key=idempotency_key)
        if self.key == "customers":  # applied in the system, not yet recorded by the app
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    DatabaseConnector.rectify = rectify
    from flows.lifecycle import lifecycle
    asyncio.run(lifecycle(sys.argv[1]))
""")


def _paused(reference) -> str | None:
    from prefect.client.orchestration import get_client

    with unit_of_work() as session:
        run_id = load_request(session, reference).flow_run_id
    if not run_id:
        return None
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(run_id)).state
    return run_id if state is not None and state.is_paused() else None


def test_a_flow_process_killed_mid_fulfilment_finishes_on_a_rerun_without_doing_anything_twice(
    autopilot, tmp_path, mail_stub
):
    """The process dies (SIGKILL) right after a system applied a correction and before the app
    recorded it; running the lifecycle again finishes the request."""
    from prefect.settings import PREFECT_API_URL

    from flows.lifecycle import lifecycle
    from flows.waits import wake

    settings = autopilot
    reference = submit(
        settings,
        "correction",
        details={"corrections": [{"field": "phone", "current": "03-1234-5678", "requested": NEW_PHONE}]},
    )
    script = tmp_path / "crash.py"
    script.write_text(CRASH)
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PYTHONPATH": str(REPO),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    process = subprocess.Popen(
        [sys.executable, str(script), reference],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: _paused(reference) or process.poll() is not None,
            timeout=90,
            what="the flow process to wait for the code",
        )
        assert process.poll() is None, "the flow process ended before the code was asked for"
        code = inbox.latest_code(mail_stub.url, reference)
        with unit_of_work(settings) as session:
            identity.submit_code(session, settings, reference, code, now=utcnow())
        assert wake(_paused(reference))
        assert process.wait(timeout=90) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    crashed = actions_of(settings, reference)
    assert crashed[("customers", "rectify")].state == "pending"  # the app never heard back
    assert ledgers(settings)["customers"] == [crashed[("customers", "rectify")].idempotency_key]

    assert asyncio.run(lifecycle(reference)) == "completed"

    actions = actions_of(settings, reference)
    assert actions.keys() == crashed.keys() and all(a.state == "done" for a in actions.values())
    customers = actions[("customers", "rectify")]
    assert (customers.attempts, customers.affected) == (2, 1)  # asked twice, applied once
    assert customer_row(settings)["phone"] == NEW_PHONE
    applied = ledgers(settings)
    keys = [k for ks in applied.values() for k in ks]
    assert sorted(keys) == sorted(a.idempotency_key for a in actions.values())  # once each
    done = Counter(
        (e.details["system"], e.details["system_action"])
        for e in events_of(settings, reference, "fulfilment.done")
    )
    assert set(done.values()) == {1}
    # every notice once: one claim each, one message each at SendGrid, one "sent" in the trail
    notices = notices_of(settings, reference)
    assert [n.kind for n in notices] == ["acknowledgement", "one_time_code", "decision"]
    assert all((n.state, n.attempts) == ("sent", 1) for n in notices)
    assert sorted(sent_keys(mail_stub)) == sorted(n.idempotency_key for n in notices)
    sent = Counter(e.details["notice_id"] for e in events_of(settings, reference, "notice.sent"))
    assert sent == Counter({n.id: 1 for n in notices})
    assert request_of(settings, reference).outcome in ("granted", "partially_granted")

"""Nothing waits forever unseen: a request whose flow run died is started again by the recovery
sweep, on the real path (the lifecycle deployment, madoguchi's thread worker, a real server),
goes on where it stood and finishes with every notice sent once; one whose run keeps dying
is escalated once; one whose run Prefect no longer knows gets a new one; one whose run a
dead worker left Pending is crashed by the automation and started again."""

import time
import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from demo import inbox
from deployments import recovery
from deployments.automations import stranded_automation, zombie_automation
from deployments.dispatch import dispatch_round
from flows.waits import wake
from models.audit import AuditEvent
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from models.restarts import RunRestart
from models.rules.vocabulary import Status
from models.settings import get_settings
from services import identity
from services import recovery as service
from services.common import load_request
from tests.flows.conftest import submit
from tests.prefect_api import prefect_at

pytestmark = pytest.mark.deployment
UI = "http://127.0.0.1:4200"


@pytest.fixture
def desk(app_env, prefect_server, worker, monkeypatch):
    """A desk whose restarts come at once (0.2 s, then 0.8 s…)."""

    monkeypatch.setenv("MADOGUCHI_RUN_RESTART_PAUSE_SECONDS", "0.2")
    get_settings.cache_clear()
    with prefect_at(prefect_server.url):
        yield get_settings()


def state_of(run_id: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(uuid.UUID(run_id)).state


def current_run(settings, reference: str) -> str:
    with unit_of_work(settings) as session:
        return load_request(session, reference).flow_run_id


def until(predicate, what: str, timeout: float = 40):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {what} after {timeout} s")


def suspended(settings, reference: str) -> str:
    """The request's current run, once it waits for the requester."""

    def waiting():
        run_id = current_run(settings, reference)
        state = run_id and state_of(run_id)
        return run_id if state is not None and state and state.is_paused() else None

    return until(waiting, f"suspended run of {reference}")


def kill(run_id: str) -> None:
    """What the worker does when a run cannot be submitted (or the zombie automation when
    its process died): the run ends Crashed."""
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(uuid.UUID(run_id), Crashed(message="test: the process died"), force=True)


def sweep(settings, since):
    return recovery.recover_recent(settings, since=since, ui_url=UI)


def test_a_dead_run_is_started_again_and_the_request_finishes(desk, mail_stub):
    settings, since = desk, utcnow() - timedelta(seconds=1)
    reference = submit(settings, "disclosure")
    assert dispatch_round(settings).dispatched == [reference]
    first = suspended(settings, reference)

    kill(first)
    done = sweep(settings, since)
    assert done.restarted == [reference] and done.escalated == []
    assert sweep(settings, since).restarted == []  # the same death seen again: nothing more
    second = suspended(settings, reference)
    assert second != first

    code = inbox.latest_code(mail_stub.url, reference)
    with unit_of_work(settings) as session:
        assert (
            identity.submit_code(session, settings, reference, code, now=utcnow())
            is identity.Verdict.VERIFIED
        )
    assert wake(second)
    until(lambda: state_of(second).is_completed(), "completion")

    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        assert request.status == Status.COMPLETED
        kinds = [n.kind for n in session.exec(select(Notice).where(Notice.request_id == request.id))]
        restart = session.exec(select(RunRestart).where(RunRestart.reference == reference)).one()
        actions = [
            e.action for e in session.exec(select(AuditEvent).where(AuditEvent.subject_ref == reference))
        ]
    assert len(kinds) == len(set(kinds)), kinds  # each notice once, across the two runs
    assert (restart.restarts, restart.dead_run_id, restart.dead_state, restart.escalated_at) == (
        1,
        first,
        "Crashed",
        None,
    )
    assert "request.run_restarted" in actions


def test_a_run_that_keeps_dying_is_escalated_once(desk, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_RUN_MAX_RESTARTS", "1")
    get_settings.cache_clear()
    settings, since = get_settings(), utcnow() - timedelta(seconds=1)
    reference = submit(settings, "disclosure")
    dispatch_round(settings)
    kill(suspended(settings, reference))
    assert sweep(settings, since).restarted == [reference]

    last = suspended(settings, reference)
    kill(last)
    done = sweep(settings, since)
    assert (done.restarted, done.escalated) == ([], [reference])
    assert sweep(settings, since).escalated == []  # told once

    with unit_of_work(settings) as session:
        escalations = list(session.exec(select(Notice).where(Notice.kind == "privacy_officer_escalation")))
        queue = service.escalated(session)
        assert load_request(session, reference).flow_run_id == last
    assert [n.idempotency_key for n in escalations] == [f"request:{reference}:run-dead:{last}"]
    assert escalations[0].recipient_email == settings.mail_privacy_officer_email
    assert [(r.reference, r.restarts, r.dead_state) for r in queue] == [(reference, 1, "Crashed")]


def test_a_run_prefect_does_not_know_is_replaced(desk):
    settings = desk
    reference = submit(settings, "disclosure")
    with unit_of_work(settings) as session:  # e.g. the Prefect database was reset
        request = load_request(session, reference)
        request.flow_run_id = str(uuid.uuid4())
        session.add(request)
    done = recovery.recover_all(settings, ui_url=UI)
    assert done.restarted == [reference]
    assert suspended(settings, reference)
    with unit_of_work(settings) as session:
        row = session.exec(select(RunRestart).where(RunRestart.reference == reference)).one()
    assert row.dead_state == "Missing"


@pytest.mark.parametrize(
    "automation, died_after, message",
    [
        # a worker killed between claiming a run and starting it: the run stays Pending
        (stranded_automation, ("Pending",), "not started within 10 s"),
        # a worker killed a second after starting a run: Running, and no heartbeat ever
        (zombie_automation, ("Running",), "No heartbeat for 10 s"),
    ],
    ids=["claimed-never-started", "started-never-beat"],
)
def test_a_run_whose_worker_died_is_crashed_and_started_again(desk, automation, died_after, message):
    """The automation (here with a 10 s bound, its least) crashes the run, also after a quick
    resume (Pending → Running → Suspended → again within the bound), and the sweep restarts
    the case."""
    from prefect.client.orchestration import get_client
    from prefect.states import Pending, Running, Suspended

    settings, since = desk, utcnow() - timedelta(seconds=1)
    reference = submit(settings, "disclosure")
    dispatch_round(settings)
    first = suspended(settings, reference)
    states = {"Pending": Pending, "Running": Running}
    with get_client(sync_client=True) as client:
        created = client.create_automation(automation(within_seconds=10))
        try:
            for state in (Pending(), Running(), Suspended(), *(states[name]() for name in died_after)):
                client.set_flow_run_state(uuid.UUID(first), state, force=True)
            until(lambda: state_of(first).is_crashed(), "the dead worker's run crashed", 60)
        finally:
            client.delete_automation(created)
    assert message in state_of(first).message
    assert sweep(settings, since).restarted == [reference]
    assert suspended(settings, reference) != first


def test_up_wakes_a_run_whose_requester_acted_while_the_wake_was_lost(desk, mail_stub, prefect_server):
    """The intake's wake can give up (Prefect's SQLite answering 503 to a resume for a minute
    under a burst, measured in bench/faults.py): `up` looks for such runs every half minute."""
    from deployments import stack

    settings = desk
    reference = submit(settings, "disclosure")
    dispatch_round(settings)
    run = suspended(settings, reference)
    code = inbox.latest_code(mail_stub.url, reference)
    with unit_of_work(settings) as session:  # the intake's part; its wake never arrives
        assert (
            identity.submit_code(session, settings, reference, code, now=utcnow())
            is identity.Verdict.VERIFIED
        )
    said = []
    stack._wake_lost(
        stack.Stack(api_url=prefect_server.url, data_dir=settings.data_dir, settings=settings), said.append
    )
    assert said == [f"woke {reference}: its requester had acted, the wake was lost"]
    until(lambda: state_of(run).is_completed(), "completion")
    said.clear()
    stack._wake_lost(
        stack.Stack(api_url=prefect_server.url, data_dir=settings.data_dir, settings=settings), said.append
    )
    assert said == []  # nothing lost any more


def test_a_policy_revision_whose_run_died_is_started_again_and_tells_everyone_once(desk, mail_stub):
    """A policy revision is a case like a request: the dispatcher gives it its run, the sweep
    restarts it when it died waiting for the officer, and the new run asks again, publishes and
    writes one notice per customer."""
    from demo.fixture import load_fixture_into_systems
    from flows.forms import filled
    from flows.policy import PolicyApproval
    from models.policy import PUBLISHED, shipped
    from models.rules.deadlines import jst_date
    from models.rules.policy import NOTICE_LEAD_DAYS
    from services import policy
    from tests.flows.support import sent_keys

    settings, since = desk, utcnow() - timedelta(seconds=1)
    load_fixture_into_systems(
        {"customers": [{"name": "鈴木 花子", "email": "hanako@example.co.jp"}]}, settings
    )
    billing = "b)本サービスご利用代金のご請求のため。"
    with unit_of_work(settings) as session:
        row = policy.propose(
            session,
            settings,
            shipped()[0].text.replace(billing, f"{billing}\n\n      h)与信審査のため。"),
            actor="operator:sato",
            now=utcnow(),
        )
        reference = row.reference
    assert reference == "policy-v2"
    assert dispatch_round(settings).dispatched == [reference]

    def waiting_run():
        with unit_of_work(settings) as session:
            run_id = policy.load(session, 2).flow_run_id
        state = run_id and state_of(run_id)
        return run_id if state is not None and state and state.is_paused() else None

    first = until(waiting_run, "the revision's run waiting for the officer")
    kill(first)
    assert sweep(settings, since).restarted == [reference]
    assert sweep(settings, since).restarted == []
    second = until(lambda: (run := waiting_run()) != first and run, "the revision's second run")

    in_force_on = jst_date(utcnow()) + timedelta(days=NOTICE_LEAD_DAYS)
    assert wake(second, filled(PolicyApproval, decision="approve", in_force_on=in_force_on, actor="tanaka"))
    until(lambda: state_of(second).is_completed(), "completion")

    with unit_of_work(settings) as session:
        row = policy.load(session, 2)
        notices = list(session.exec(select(Notice).where(Notice.kind == "policy_revision")))
        restart = session.exec(select(RunRestart).where(RunRestart.reference == reference)).one()
        open_ = service.open_cases_with_runs(session, "policy")
    assert (row.status, row.flow_run_id) == (PUBLISHED, second) and row.notified_at is not None
    keys = [n.idempotency_key for n in notices]
    assert sorted(keys) == sorted(set(keys)) and len(keys) >= 2  # every customer once (taro and hanako)
    assert sorted(sent_keys(mail_stub)) == sorted(keys)
    assert (restart.restarts, restart.dead_run_id, restart.dead_state) == (1, first, "Crashed")
    assert open_ == []  # published and told: closed, the sweep leaves it alone
    assert sweep(settings, since).restarted == []

"""Issue 12 §1-2: the gate in front of a real Prefect server (UI on, its own auth string so
only the gate reaches it), served by uvicorn on a free port; a real flow run pauses through
the gate with the service account and is resumed over HTTP by people with their own accounts."""

import asyncio
import base64
import contextvars
import http.client
import json
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
import websockets
from prefect import flow, task
from prefect.flow_runs import apause_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run as current_run
from sqlmodel import select

from deployments import local
from models.db import unit_of_work
from models.requests import DecisionItem, Request, new_reference
from models.rules.access import AccountRole
from models.rules.vocabulary import RequestType, Status
from models.schema import upgrade
from models.settings import Settings
from services import accounts
from tests.prefect_api import drain_services
from web.gate import create_gate

UPSTREAM_AUTH = "gate:upstream-secret-for-tests"
PASSWORD = {
    "sato": "operator password 1",
    "suzuki": "officer password 1",
    "tanaka": "officer password 2",
    "root": "admin password 123",
    "svc": "service password 1",
    "gone": "disabled password 1",
}
ROLES = {
    "sato": AccountRole.OPERATOR,
    "suzuki": AccountRole.OFFICER,
    "tanaka": AccountRole.OFFICER,
    "root": AccountRole.ADMIN,
    "svc": AccountRole.SERVICE,
    "gone": AccountRole.OPERATOR,
}
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """`prefect server start` with the UI, requiring the gate's own credential."""
    server = local.start_server(
        tmp_path_factory.mktemp("prefect-behind-gate"),
        ui=True,
        extra_env={"PREFECT_SERVER_API_AUTH_STRING": UPSTREAM_AUTH},
    )
    try:
        local.wait_until_ready(server.url, timeout=90, proc=server)
        yield server.url.removesuffix("/api")
    finally:
        local.stop_process(server)


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Settings:
    """The app database with one account per role (and a disabled one)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("gate-desk"), secret_key="gate-test")
    upgrade(settings)
    with unit_of_work(settings) as session:
        for name, role in ROLES.items():
            accounts.add(session, settings, name, role, PASSWORD[name], actor="test", now=NOW)
        accounts.disable(session, settings, "gone", actor="test", now=NOW)
    return settings


@pytest.fixture(scope="module")
def gate(upstream, desk):
    """The gate on a free loopback port; yields its base URL."""
    port = local.free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_gate(upstream, settings=desk, upstream_auth=UPSTREAM_AUTH),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, name="gate-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        drain_services()  # the flows' logs and events go while the gate is there
        server.should_exit = True
        thread.join(10)


def as_(name: str | None, gate: str) -> httpx.Client:
    """An HTTP client of the gate with ``name``'s own credentials (None: without any)."""
    return httpx.Client(base_url=gate, timeout=30, auth=(name, PASSWORD[name]) if name else None)


def basic(name: str) -> str:
    """The header the UI's login page sends for "name:password" (and Prefect's clients for
    PREFECT_API_AUTH_STRING)."""
    return "Basic " + base64.b64encode(f"{name}:{PASSWORD[name]}".encode()).decode()


# --- a flow that waits, run as a worker runs it: through the gate, as the service -------------


class Answer(RunInput):
    decision: str
    actor: str = ""


@task
def noted(reference: str) -> str:
    return reference


@flow(name="gate-test-wait", flow_run_name="{reference}")
async def waits_for_a_person(reference: str, key: str) -> dict:
    noted(reference)  # a task run: recorded from the events the flow sends over the websocket
    if not key.startswith(("operator-", "officer-")):  # the requester's wait: no form, a wake
        await apause_flow_run(key=key, timeout=120, poll_interval=0.5)
        return {"run": str(current_run.id), "woken": True}
    answer = await apause_flow_run(wait_for_input=Answer, key=key, timeout=120, poll_interval=0.5)
    return {"run": str(current_run.id), "decision": answer.decision, "actor": answer.actor}


class Waiting:
    """The flow in a thread with PREFECT_API_URL at the gate and the service's credential."""

    def __init__(self, gate: str, reference: str, key: str):
        from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

        self.gate, self.reference, self.result, self.error = gate, reference, None, None
        with temporary_settings(
            {PREFECT_API_URL: f"{gate}/api", PREFECT_API_AUTH_STRING: f"svc:{PASSWORD['svc']}"}
        ):
            context = contextvars.copy_context()

        def target():
            try:
                self.result = asyncio.run(waits_for_a_person(reference, key))
            except BaseException as exc:  # noqa: BLE001 - reported by join()
                self.error = exc

        self.thread = threading.Thread(target=context.run, args=(target,), daemon=True)
        self.thread.start()

    def run_id(self, timeout: float = 60) -> str:
        """The run's id once it is paused."""
        deadline = time.monotonic() + timeout
        with as_("sato", self.gate) as client:
            while time.monotonic() < deadline:
                assert self.thread.is_alive(), f"the flow ended instead of waiting: {self.error!r}"
                runs = (
                    client.post(
                        "/api/flow_runs/filter", json={"flow_runs": {"name": {"any_": [self.reference]}}}
                    )
                    .raise_for_status()
                    .json()
                )
                if runs and runs[0]["state"]["type"] == "PAUSED":
                    return runs[0]["id"]
                time.sleep(0.2)
        raise AssertionError("the flow run did not pause")

    def join(self, timeout: float = 60) -> dict:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the flow run did not finish"
        if self.error:
            raise self.error
        return self.result


def state_of(gate: str, run_id: str) -> str:
    with as_("root", gate) as client:
        return client.get(f"/api/flow_runs/{run_id}").raise_for_status().json()["state"]["type"]


def remember_run(settings: Settings, reference: str, run_id: str) -> None:
    """What the lifecycle does first: the request keeps its run's id."""
    with unit_of_work(settings) as session:
        request = session.exec(select(Request).where(Request.reference == reference)).one()
        request.flow_run_id = run_id
        session.add(request)


def reviewed_by(settings: Settings, actor: str) -> str:
    """A request whose review ``actor`` decided, waiting for the officer's sign-off."""
    with unit_of_work(settings) as session:
        request = Request(
            reference=new_reference(NOW),
            request_type=RequestType.DISCLOSURE,
            status=Status.AWAITING_APPROVAL,
            status_token_hash="",
            received_at=NOW,
            updated_at=NOW,
        )
        session.add(request)
        session.flush()
        session.add(
            DecisionItem(
                request_id=request.id,
                item_key="billing",
                system_key="billing",
                proposed_action="refuse",
                final_action="refuse",
                decided_by=actor,
                decided_at=NOW,
            )
        )
        return request.reference


# --- the tests ----------------------------------------------------------------------------------


def test_without_credentials_ui_and_api_answer_401(gate, upstream):
    with as_(None, gate) as anonymous:
        page = anonymous.get("/")
        assert page.status_code == 401 and page.headers["www-authenticate"].startswith("Basic ")
        assert anonymous.get("/ui-settings").status_code == 401
        assert anonymous.post("/api/flow_runs/filter", json={}).status_code == 401
        assert anonymous.get("/api/health").status_code == 200  # the probe, as Prefect leaves it
    for wrong in [("sato", "not the password"), ("nobody", PASSWORD["sato"]), ("gone", PASSWORD["gone"])]:
        with httpx.Client(base_url=gate, auth=wrong) as client:
            assert client.post("/api/flow_runs/filter", json={}).status_code == 401
            assert client.get("/").status_code == 401
    # and the server behind the gate takes nobody else
    assert httpx.post(f"{upstream}/api/flow_runs/filter", json={}).status_code == 401


def test_with_credentials_the_ui_and_the_api_answer(gate):
    with as_("sato", gate) as sato:
        page = sato.get("/runs", headers={"accept": "text/html"}, follow_redirects=True)
        assert page.status_code == 200 and "<html" in page.text.lower()
        ui = sato.get("/ui-settings").json()
        assert ui["auth"] == "BASIC" and ui["api_url"] == f"{gate}/api"  # the UI's login page, this gate
        assert sato.post("/api/flow_runs/filter", json={"limit": 1}).status_code == 200
        assert sato.get("/api/admin/version").status_code == 200
    # the UI's own login sends "name:password" as basic auth: the same check
    with httpx.Client(base_url=gate, headers={"Authorization": basic("suzuki")}) as ui_login:
        assert ui_login.get("/api/admin/version").status_code == 200


def test_a_sign_off_needs_the_officer_who_did_not_decide_and_the_run_input_names_who_answered(gate, desk):
    reference = reviewed_by(desk, "operator:tanaka")  # tanaka, an officer, did the review
    waiting = Waiting(gate, reference, key="officer-approval-0")
    run_id = waiting.run_id()
    answer = {"run_input": {"decision": "approve", "actor": "privacy-officer"}}  # a typed name
    with as_("suzuki", gate) as suzuki:  # a run no request knows: four eyes cannot be checked
        refused = suzuki.post(f"/api/flow_runs/{run_id}/resume", json=answer)
        assert refused.status_code == 403 and "not known" in refused.json()["detail"]
    remember_run(desk, reference, run_id)

    with as_("sato", gate) as sato:  # an operator cannot sign off
        for spelling in (run_id, run_id.replace("-", "")):  # Prefect takes either
            refused = sato.post(f"/api/flow_runs/{spelling}/resume", json=answer)
            assert refused.status_code == 403 and "officer" in refused.json()["detail"]
    with as_("tanaka", gate) as tanaka:  # four eyes
        refused = tanaka.post(f"/api/flow_runs/{run_id}/resume", json=answer)
        assert refused.status_code == 403 and "four eyes" in refused.json()["detail"]
    with as_("svc", gate) as service:  # the service wakes runs, it answers no form
        assert service.post(f"/api/flow_runs/{run_id}/resume", json=answer).status_code == 403
    time.sleep(1.5)  # three poll intervals: nothing reached the run
    assert state_of(gate, run_id) == "PAUSED"

    with as_("suzuki", gate) as suzuki:
        resumed = suzuki.post(f"/api/flow_runs/{run_id}/resume", json=answer)
        assert resumed.status_code == 201 and resumed.json()["status"] == "ACCEPT", resumed.text
    assert waiting.join() == {"run": run_id, "decision": "approve", "actor": "suzuki"}

    with as_("sato", gate) as sato:  # the flow's task run arrived through the events websocket
        deadline = time.monotonic() + 20
        while (
            not sato.post("/api/task_runs/filter", json={"flow_runs": {"id": {"any_": [run_id]}}}).json()
            and time.monotonic() < deadline
        ):
            time.sleep(0.3)
        assert sato.post("/api/task_runs/filter", json={"flow_runs": {"id": {"any_": [run_id]}}}).json()


def test_a_review_is_for_an_operator_and_deleting_a_run_for_an_admin(gate, desk):
    waiting = Waiting(gate, "R-REVIEW-GATE", key="operator-review-0-0-0")
    run_id = waiting.run_id()
    with as_("root", gate) as admin:  # an admin decides nothing
        assert (
            admin.post(f"/api/flow_runs/{run_id}/resume", json={"run_input": {"decision": "x"}}).status_code
            == 403
        )
    with as_("sato", gate) as sato:
        assert sato.delete(f"/api/flow_runs/{run_id}").status_code == 403
        assert (
            sato.post(
                f"/api/flow_runs/{run_id}/set_state", json={"state": {"type": "CANCELLED"}, "force": True}
            ).status_code
            == 403
        )
        # a path normalised into another on the way (httpx would send /api/flow_runs/…/set_state)
        host, port = gate.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request(
            "POST",
            f"/api/../api/flow_runs/{run_id}/set_state",
            body=b'{"state": {"type": "CANCELLED"}, "force": true}',
            headers={"Authorization": basic("sato"), "Content-Type": "application/json"},
        )
        assert connection.getresponse().status == 404
        connection.close()
        assert state_of(gate, run_id) == "PAUSED"
        resumed = sato.post(f"/api/flow_runs/{run_id}/resume", json={"run_input": {"decision": "grant"}})
        assert resumed.status_code == 201
    assert waiting.join()["actor"] == "sato"
    with as_("root", gate) as admin:
        assert admin.delete(f"/api/flow_runs/{run_id}").status_code == 204
        assert admin.get(f"/api/flow_runs/{run_id}").status_code == 404


def test_the_service_wakes_the_requesters_wait_and_nobody_else_does(gate):
    waiting = Waiting(gate, "R-REQUESTER-GATE", key="clarification-0")
    run_id = waiting.run_id()
    for person in ("sato", "suzuki", "root"):
        with as_(person, gate) as client:
            assert client.post(f"/api/flow_runs/{run_id}/resume", json={"run_input": None}).status_code == 403
    assert state_of(gate, run_id) == "PAUSED"
    with as_("svc", gate) as service:  # as flows.waits.wake does after the requester acted
        assert service.post(f"/api/flow_runs/{run_id}/resume", json={"run_input": None}).status_code == 201
    assert waiting.join() == {"run": run_id, "woken": True}


def test_people_send_no_events_the_service_does(gate):
    """Events may trigger automations: the stream in is the service's, like POST /api/events."""
    import websockets.sync.client as ws

    url = gate.replace("http", "ws") + "/api/events/in"
    with ws.connect(
        url, subprotocols=["prefect"], additional_headers={"Authorization": basic("svc")}
    ) as stream:
        stream.send('{"type": "auth", "token": null}')
        assert json.loads(stream.recv(timeout=10))["type"] == "auth_success"
    with ws.connect(
        url, subprotocols=["prefect"], additional_headers={"Authorization": basic("sato")}
    ) as stream:
        stream.send('{"type": "auth", "token": null}')
        with pytest.raises(websockets.ConnectionClosed):
            stream.recv(timeout=10)
    with ws.connect(url, subprotocols=["prefect"]) as stream:  # the token alone, as task workers send it
        stream.send(json.dumps({"type": "auth", "token": f"svc:{PASSWORD['svc']}"}))
        assert json.loads(stream.recv(timeout=10))["type"] == "auth_success"
    with ws.connect(url, subprotocols=["prefect"]) as stream:
        stream.send(json.dumps({"type": "auth", "token": "svc:wrong password"}))
        with pytest.raises(websockets.ConnectionClosed):
            stream.recv(timeout=10)


def test_a_resume_body_that_is_not_json_is_a_422(gate):
    with as_("sato", gate) as sato:
        bad = sato.post(
            "/api/flow_runs/00000000-0000-0000-0000-000000000000/resume",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "run_input"

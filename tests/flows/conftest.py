"""Lifecycle tests: real flow runs on Prefect's test server, the app and demo systems in a
temporary folder, the flow's settings read from the environment as a worker would."""

import asyncio
import threading
import time
from pathlib import Path

import pytest
from sqlmodel import select

from demo.fixture import load_fixture_into_systems, read_fixture
from models.audit import audit_key
from models.db import unit_of_work
from models.fixtures import load_fixture_into_app
from models.fulfilment import Notice
from models.requests import RequestCreate
from models.rules.access import AccountRole
from models.schema import upgrade
from models.settings import get_settings
from services import accounts, identity, intake
from services.common import load_request
from systems import db as systems_db

FIXTURE = Path(__file__).parent.parent / "fixtures" / "contract_example.json"
PRINCIPAL = {
    "name": "山田 太郎",
    "email": "taro@example.co.jp",
    "phone": "03-1234-5678",
    "company": "株式会社サンプル",
    "login_id": "A1234567",
}
# The people who decide, each with an account (one password for all, given to the command
# line in MADOGUCHI_PASSWORD as tests.flows.support.operator does).
PEOPLE = {"sato": AccountRole.OPERATOR, "suzuki": AccountRole.OPERATOR, "tanaka": AccountRole.OFFICER}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def desk(tmp_path, monkeypatch, prefect_api, mail_stub):
    """Settings in the environment (as a worker reads them), migrated, the example subject
    seeded, the :data:`PEOPLE`'s accounts added, mail through the SendGrid adapter to the stub."""
    monkeypatch.setenv("MADOGUCHI_SENDGRID_HOST", mail_stub.url)
    monkeypatch.setenv("MADOGUCHI_SENDGRID_API_KEY", "SG.test")
    monkeypatch.setenv("MADOGUCHI_SENDGRID_BACKOFF_SECONDS", "0.05")
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", "lifecycle-test")
    monkeypatch.setenv("MADOGUCHI_FULFILMENT_RETRY_BASE_SECONDS", "0.05")
    monkeypatch.setenv("MADOGUCHI_PAUSE_POLL_SECONDS", "0.5")  # waits notice a resume sooner
    get_settings.cache_clear()
    settings = prepare_example(get_settings())
    with unit_of_work(settings) as session:
        for name, role in PEOPLE.items():
            accounts.add(session, settings, name, role, PASSWORD, actor="test", now=_now())
    yield settings
    systems_db.dispose()
    get_settings.cache_clear()


@pytest.fixture
def autopilot(monkeypatch, desk):
    """The desk with every operator and officer decision taken by the pre-screen's proposal."""
    monkeypatch.setenv("MADOGUCHI_AUTOPILOT", "1")
    get_settings.cache_clear()
    return get_settings()


def prepare_example(settings):
    """The app database migrated and the docs/contract.md example subject in systems and app DB."""
    upgrade(settings)
    fixture = read_fixture(FIXTURE)
    load_fixture_into_systems(fixture, settings)
    with unit_of_work(settings) as session:
        load_fixture_into_app(session, fixture, now=_now(), audit_key=audit_key("fixture"))
    return settings


def _now():
    from models.db import utcnow

    return utcnow()


def submit(settings, request_type="disclosure", **changes) -> str:
    body = {"request_type": request_type, "principal": PRINCIPAL, **changes}
    with unit_of_work(settings) as session:
        return intake.submit(session, settings, RequestCreate.model_validate(body), now=_now()).reference


class FlowThread:
    """A flow run in a thread, as a worker would run it, that a test talks to; ``run_id_of``
    reads the run id the flow stored for ``reference``."""

    def __init__(self, flow, reference: str, run_id_of):
        self.reference, self.result, self.error = reference, None, None
        self.run_id_of = run_id_of

        def target():
            try:
                result = flow(reference)
                self.result = asyncio.run(result) if asyncio.iscoroutine(result) else result
            except BaseException as exc:  # noqa: BLE001 - reported by join()
                self.error = exc

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def wait_until_paused(self, timeout: float = 60, after: int | None = None) -> str:
        """The run id once the run waits (with ``after``: at a pause key ending in that count)."""
        from uuid import UUID

        from prefect.client.orchestration import get_client

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run_id = self.run_id_of(self.reference)
            if run_id:
                with get_client(sync_client=True) as client:
                    state = client.read_flow_run(UUID(run_id)).state
                if (
                    state is not None
                    and state.is_paused()
                    and (after is None or state.state_details.pause_key.endswith(f"-{after}"))
                ):
                    return run_id
            if not self.thread.is_alive():
                raise AssertionError(f"flow ended instead of waiting: {self.result} {self.error!r}")
            time.sleep(0.2)
        raise AssertionError("the flow run did not pause")

    def answer(self, run_input: dict | None = None) -> None:
        from flows.waits import wake

        assert wake(self.wait_until_paused(), run_input)

    def join(self, timeout: float = 90):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the flow run did not finish"
        if self.error:
            raise self.error
        return self.result


def request_run_id(reference: str) -> str | None:
    with unit_of_work() as session:
        return load_request(session, reference).flow_run_id


class Run(FlowThread):
    """A lifecycle flow run in a thread."""

    def __init__(self, reference: str):
        from flows.lifecycle import lifecycle

        super().__init__(lifecycle, reference, request_run_id)


def enter_code(settings, reference: str, run: Run) -> None:
    """The requester types the code from the email (the stub's inbox: the app database keeps
    no usable code once it is sent); the API would then wake the run."""
    from demo import inbox

    run.wait_until_paused()
    code = inbox.latest_code(settings.sendgrid_host, reference)
    with unit_of_work(settings) as session:
        identity.submit_code(session, settings, reference, code, now=_now())
    run.answer()


def notices_of(settings, reference: str) -> list[Notice]:
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        return list(session.exec(select(Notice).where(Notice.request_id == request.id).order_by(Notice.id)))

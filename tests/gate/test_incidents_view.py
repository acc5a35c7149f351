"""The operators' incident API on the gate: behind the login, JSON only, field errors as 422,
the reporting account in the audit trail. The upstream is an address nothing listens on: a
call that reached the proxy would fail."""

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from demo.fixture import load_fixture_into_systems, read_fixture
from models.audit import AuditEvent
from models.db import unit_of_work
from models.rules.access import AccountRole
from models.schema import upgrade
from models.settings import Settings
from services import accounts, incidents
from tests.services.conftest import CONTRACT_FIXTURE
from web.gate import create_gate

PASSWORD = {"sato": "operator password 1", "root": "admin password 123"}
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
NOWHERE = "http://127.0.0.1:9"
BODY = {
    "discovered_on": "2026-11-30",
    "systems": ["orders"],
    "data_items": ["注文履歴"],
    "cause": "誤送信",
    "financial_loss_risk": True,
    "affected": [{"email": "taro@example.co.jp"}],
}


@pytest.fixture
def gate(tmp_path):
    settings = Settings(data_dir=tmp_path, secret_key="test-secret")
    upgrade(settings)
    load_fixture_into_systems(read_fixture(CONTRACT_FIXTURE), settings)
    with unit_of_work(settings) as session:
        accounts.add(session, settings, "sato", AccountRole.OPERATOR, PASSWORD["sato"], actor="test", now=NOW)
        accounts.add(session, settings, "root", AccountRole.ADMIN, PASSWORD["root"], actor="test", now=NOW)
    with TestClient(create_gate(NOWHERE, settings=settings)) as client:
        yield client, settings


def test_an_operator_reports_an_incident_and_is_named_in_the_trail(gate):
    client, settings = gate
    answer = client.post("/desk/api/incidents", json=BODY, auth=("sato", PASSWORD["sato"]))
    assert answer.status_code == 201, answer.text
    reference = answer.json()["reference"]
    with unit_of_work(settings) as session:
        assert incidents.load_incident(session, reference).triage_cases == ["financial_loss"]
        [event] = session.exec(select(AuditEvent).where(AuditEvent.subject_ref == reference)).all()
    assert (event.actor, event.action) == ("operator:sato", "incident.reported")


def test_nobody_else_reports_and_a_form_post_is_refused(gate):
    client, _ = gate
    assert client.post("/desk/api/incidents", json=BODY).status_code == 401
    assert client.post("/desk/api/incidents", json=BODY, auth=("root", PASSWORD["root"])).status_code == 403
    assert (
        client.post("/desk/api/incidents", data={"cause": "x"}, auth=("sato", PASSWORD["sato"])).status_code
        == 415
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "discovered_on": "yesterday"}, "discovered_on"),
        ({k: v for k, v in BODY.items() if k != "cause"}, "cause"),
        ({**BODY, "systems": ["payroll"]}, "systems.0"),
        ({**BODY, "affected": [{"customer_id": "C-NOBODY"}]}, "affected.0.customer_id"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(gate, body, field):
    client, _ = gate
    answer = client.post("/desk/api/incidents", json=body, auth=("sato", PASSWORD["sato"]))
    assert answer.status_code == 422 and field in [d["field"] for d in answer.json()["detail"]], answer.text


def test_a_body_that_is_not_json_is_a_422(gate):
    client, _ = gate
    answer = client.post(
        "/desk/api/incidents",
        content=b"{nope",
        headers={"content-type": "application/json"},
        auth=("sato", PASSWORD["sato"]),
    )
    assert answer.status_code == 422


@pytest.mark.parametrize(
    "key",
    [
        "officer-incident-triage-0",
        "officer-incident-public-notice-0",
        "officer-incident-preliminary-filed-0",
        "officer-incident-final-filed-1-again-1",
    ],
)
def test_the_incident_forms_are_the_officers(key):
    from models.rules.access import may_resume

    assert may_resume(AccountRole.OFFICER, "suzuki", key).allowed
    assert not may_resume(AccountRole.OPERATOR, "sato", key).allowed
    assert not may_resume(AccountRole.SERVICE, "svc", key).allowed

import json
import urllib.request

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from demo.stub import SendGridStub
from mail.sendgrid_adapter import SendGridAdapter
from models.schema import upgrade
from models.settings import get_settings

GROUP_ID = 4242


class StubClient:
    """The test's side of the stub: plain HTTP, as any other client would see it."""

    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Authorization": "Bearer test-key"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return json.loads(raw) if raw else None

    def messages(self) -> list[dict]:
        return self.call("GET", "/messages")

    def fault(self, **fault) -> None:
        self.call("POST", "/_faults", fault)

    def suppressions(self, group_id: int = GROUP_ID) -> list[str]:
        return self.call("GET", f"/v3/asm/groups/{group_id}/suppressions")


@pytest.fixture(scope="session")
def stub_server():
    with SendGridStub() as stub:
        yield stub


@pytest.fixture
def stub(stub_server):
    client = StubClient(stub_server.url)
    client.call("DELETE", "/messages")
    stub_server.state.suppressions.clear()
    return client


@pytest.fixture
def mail_settings(settings, stub_server):
    """Settings pointed at the stub, with short waits, on a migrated database."""
    s = settings.model_copy(
        update={
            "sendgrid_api_key": SecretStr("test-key"),
            "sendgrid_host": stub_server.url,
            "sendgrid_unsubscribe_group_id": GROUP_ID,
            "sendgrid_webhook_public_key": stub_server.state.public_key,
            "sendgrid_timeout_seconds": 2.0,
            "sendgrid_backoff_seconds": 0.05,
            "sendgrid_max_backoff_seconds": 2.0,
            "mail_public_base_url": "http://intake.test",
        }
    )
    upgrade(s)
    return s


@pytest.fixture
def port(mail_settings):
    return SendGridAdapter(mail_settings)


REF = "R-261201-ABCDEF"
CONTEXTS = {
    "acknowledgement": {
        "reference": REF,
        "request_type": "disclosure",
        "received_at": "2026-12-01",
        "due_date": "2026-12-15",
    },
    "one_time_code": {"reference": REF, "code": "482913", "expires_minutes": 30},
    "documents_needed": {
        "reference": REF,
        "required_documents": ["identity_document", "power_of_attorney"],
        "deadline": "2026-12-15",
        "upload_url": "http://intake.test/documents",
    },
    "clarification_request": {
        "reference": REF,
        "question": "対象のご注文番号を教えてください。",
        "deadline": "2026-12-15",
        "answer_url": "http://intake.test/clarify",
    },
    "fee_request": {
        "reference": REF,
        "request_type": "disclosure",
        "amount_yen": 1000,
        "deadline": "2026-12-15",
        "payment_url": "http://intake.test/pay",
    },
    "extension": {"reference": REF, "due_date": "2026-12-22"},
    "identity_confirmed": {
        "reference": REF,
        "request_type": "disclosure",
        "verified_on": "2026-12-08",
        "due_date": "2026-12-22",
    },
    "decision": {
        "reference": REF,
        "request_type": "erasure",
        "outcome": "partially_granted",
        "items": [
            {"system": "billing", "outcome": "restricted", "reasons": ["legal_retention_duty"]},
            {"system": "orders", "outcome": "granted"},
        ],
    },
    "opt_out_confirmation": {},
    "marketing": {
        "campaign": {"title": "年末セール", "body": "コピー用紙がお得です。", "url": "http://shop.test/sale"}
    },
    "privacy_officer_escalation": {
        "reference": REF,
        "escalation": "overdue",
        "due_date": "2026-12-15",
        "status": "review",
        "ui_url": "http://prefect.test/runs",
    },
    "sla_warning": {
        "reference": REF,
        "due_date": "2026-12-15",
        "percent_elapsed": 70,
        "status": "review",
        "ui_url": "http://prefect.test/runs",
    },
    "inquiry_acknowledgement": {
        "reference": "Q-261201-ABCDEF",
        "kind": "complaint",
        "received_at": "2026-12-01",
    },
    "inquiry_answer": {
        "reference": "Q-261201-ABCDEF",
        "kind": "inquiry",
        "received_at": "2026-12-01",
        "answer": "ご指摘の件は確認のうえ対応いたしました。",
    },
    "contractor_supervision": {
        "reference": "C-261201-ABCDEF",
        "what": "reassessment",
        "due_date": "2026-12-15",
    },
    "daily_digest": {
        "day": "2026-12-01",
        "open_count": 3,
        "by_status": {"review": 2, "awaiting_requester": 1},
        "counts": {"overdue": 1, "due_today": 0, "warning": 1, "paused": 1},
        "overdue": [
            {
                "reference": REF,
                "status": "review",
                "due_date": "2026-11-30",
                "url": "http://prefect.test/runs/flow-run/1",
            }
        ],
        "warning": [
            {
                "reference": "R-261120-ABCDEF",
                "status": "review",
                "due_date": "2026-12-04",
                "url": "http://prefect.test/runs/flow-run/2",
            }
        ],
        "due_today": [],
        "contractors": [
            {"reference": "C-261201-ABCDEF", "what": "certification_expiry", "due_date": "2026-12-20"}
        ],
        "incidents": [
            {
                "reference": "L-261128-ABCDEF",
                "report": "preliminary",
                "stage": "warning",
                "due_date": "2026-12-03",
                "days_left": 2,
                "url": "http://prefect.test/runs/flow-run/3",
            },
            {
                "reference": "L-261128-ABCDEF",
                "report": "final",
                "stage": "on_track",
                "due_date": "2026-12-28",
                "days_left": 27,
                "url": "http://prefect.test/runs/flow-run/3",
            },
        ],
        "checkpoint": {"seq": 42, "hash": "0123abcd:" + "A" * 43, "at": "2026-12-01 09:00"},
        "register": {
            "title": "月別・種類別の集計",
            "chart": "data:image/png;base64,iVBORw0KGgo=",
            "chart_title": "月別の受付件数と期限内の回答",
            "legend": [["期限内に回答", "#1f6feb", "青"], ["期限超過", "#d9480f", "橙"]],
            "headings": ["受付月", "請求の種類", "件数", "期限内回答率"],
            "rows": [["2026-11", "開示", "3", "67%"], ["2026-11", "計", "3", "67%"]],
        },
        "ui_url": "http://prefect.test/artifacts/key/work-queue",
    },
    "policy_revision": {
        "reference": "policy-v2",
        "version": 2,
        "in_force_on": "2027-01-15",
        "changes": [{"change": "added", "label": "h", "text": "与信審査のため。"}],
    },
    "leak_notice": {
        "reference": "L-261201-ABCDEF",
        "discovered_on": "2026-12-01",
        "data_items": ["メールアドレス", "電話番号"],
    },
    "leak_report_deadline": {
        "reference": "L-261201-ABCDEF",
        "report": "preliminary",
        "stage": "warning",
        "due_date": "2026-12-07",
        "ui_url": "http://127.0.0.1:4200/runs",
    },
}


@pytest.fixture
def client_for(mail_settings):
    """A test client for one of the routers the intake app will mount, on these settings."""

    def make(router) -> TestClient:
        app = FastAPI()
        app.include_router(router)
        app.dependency_overrides[get_settings] = lambda: mail_settings
        return TestClient(app)

    return make

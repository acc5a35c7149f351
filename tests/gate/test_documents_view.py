"""Issue 12 §4: the gate's viewer of agents' documents. It reads the app database only, so the
gate's upstream is an address nothing listens on: a page that reached the proxy would fail."""

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from models.audit import AuditEvent
from models.db import unit_of_work
from models.rules.access import AccountRole
from models.rules.vocabulary import Status
from models.schema import upgrade
from models.settings import Settings
from services import accounts, closing, documents
from tests.services.conftest import submit
from web.gate import create_gate

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + "委任状 代理 花子".encode() + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PASSWORD = {
    "sato": "operator password 1",
    "suzuki": "officer password 1",
    "root": "admin password 123",
    "svc": "service password 1",
}
ROLES = {
    "sato": AccountRole.OPERATOR,
    "suzuki": AccountRole.OFFICER,
    "root": AccountRole.ADMIN,
    "svc": AccountRole.SERVICE,
}
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers


@pytest.fixture
def desk(tmp_path) -> tuple[Settings, str, list[int]]:
    """An agent's request with a PDF and a PNG uploaded, and one account per role."""
    settings = Settings(data_dir=tmp_path, secret_key="test-secret")
    upgrade(settings)
    reference = submit(
        settings, requester={"role": "appointed_agent", "name": "代理 花子", "email": "agent@example.jp"}
    )
    ids = []
    with unit_of_work(settings) as session:
        for name, role in ROLES.items():
            accounts.add(session, settings, name, role, PASSWORD[name], actor="test", now=NOW)
        for kind, data in (("power_of_attorney", PDF), ("agent_identity_document", PNG)):
            ids.append(
                documents.receive(
                    session, settings, reference, kind=kind, content_type="", data=data, now=NOW
                ).document_id
            )
    return settings, reference, ids


@pytest.fixture
def gate(desk):
    with TestClient(create_gate(NOWHERE, settings=desk[0])) as client:
        yield client


def as_(name: str) -> tuple[str, str]:
    return name, PASSWORD[name]


def viewed(settings: Settings) -> list[tuple[str, str, dict]]:
    with unit_of_work(settings) as session:
        return [
            (e.actor, e.action, e.details)
            for e in session.exec(
                select(AuditEvent)
                .where(AuditEvent.action.in_(["request.documents.listed", "request.document.viewed"]))
                .order_by(AuditEvent.seq)
            )
        ]


def test_without_credentials_the_browser_is_asked_for_them(gate, desk):
    settings, reference, (pdf, _) = desk
    for path in (f"/desk/requests/{reference}/documents", f"/desk/documents/{pdf}"):
        for auth in (None, ("sato", "wrong password 1")):
            answer = gate.get(path, auth=auth)
            assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Basic ")
            assert b"%PDF" not in answer.content and reference not in answer.text
    assert viewed(settings) == []


@pytest.mark.parametrize("name", ["root", "svc"])
def test_admin_and_service_may_not_view_documents(gate, desk, name):
    settings, reference, (pdf, png) = desk
    for path in (f"/desk/requests/{reference}/documents", f"/desk/documents/{pdf}", f"/desk/documents/{png}"):
        answer = gate.get(path, auth=as_(name))
        assert answer.status_code == 403 and b"%PDF" not in answer.content and reference not in answer.text
    assert viewed(settings) == []


@pytest.mark.parametrize("name", ["sato", "suzuki"])
def test_an_operator_or_the_officer_sees_the_list_and_each_file_decrypted_audited(gate, desk, name):
    settings, reference, (pdf, png) = desk
    listing = gate.get(f"/desk/requests/{reference}/documents", auth=as_(name))
    assert listing.status_code == 200 and listing.headers["content-type"].startswith("text/html")
    page = listing.text
    assert "委任状" in page and "代理人の本人確認書類" in page and "PDF" in page and "PNG" in page
    assert f'href="/desk/documents/{pdf}"' in page and f'href="/desk/documents/{png}"' in page
    assert "2026-12-01 10:00" in page  # uploaded at, Japan time
    assert "花子" not in page and "agent@example.jp" not in page

    for document_id, data, content_type in ((pdf, PDF, "application/pdf"), (png, PNG, "image/png")):
        shown = gate.get(f"/desk/documents/{document_id}", auth=as_(name))
        assert shown.status_code == 200 and shown.content == data
        assert shown.headers["content-type"] == content_type
        assert shown.headers["content-disposition"].startswith("inline")
    for answer in (listing, shown):
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
    assert "sandbox" in shown.headers["content-security-policy"]  # the PNG

    actor = f"{ROLES[name]}:{name}"  # the officer is audited as the officer
    assert viewed(settings) == [
        (actor, "request.documents.listed", {"documents": 2}),
        (actor, "request.document.viewed", {"document_id": pdf}),
        (actor, "request.document.viewed", {"document_id": png}),
    ]


def test_unknown_and_purged_documents_are_not_found(gate, desk):
    settings, reference, (pdf, _png) = desk
    assert gate.get("/desk/documents/999", auth=as_("sato")).status_code == 404
    assert gate.get("/desk/requests/R-000101-ZZZZZZ/documents", auth=as_("sato")).status_code == 404
    with unit_of_work(settings) as session:
        closing.close(
            session, settings, reference, status=Status.WITHDRAWN, outcome=None, reasons=[], now=NOW
        )
        documents.purge(session, settings, now=datetime(2027, 6, 1, tzinfo=UTC))
    assert gate.get(f"/desk/documents/{pdf}", auth=as_("sato")).status_code == 404
    page = gate.get(f"/desk/requests/{reference}/documents", auth=as_("sato")).text
    assert "削除済み" in page and f'href="/desk/documents/{pdf}"' not in page

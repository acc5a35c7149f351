"""The JSON API of docs/contract.md, in-process: submission and status, one answer for an unknown
reference and a wrong token, field errors that do not echo the input, the one-time code,
document uploads, clarification and withdrawal, rate limits, and an access log without
personal data."""

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from disclosure.crypto import unseal
from models.db import unit_of_work, utcnow
from models.requests import Document
from models.rules.vocabulary import Status
from services import clarification
from services.common import load_request
from tests.web.conftest import body
from tests.web.support import ask_for_code, example_systems, request_of, row_counts
from web import api
from web.app import create_app

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
    + "運転免許証 山田太郎 A1234567".encode()
    + b"\n%%EOF\n"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
BAD_REFERENCE = "R-000101-ZZZZZZ"


def submitted(client, **changes) -> tuple[str, dict]:
    answer = client.post("/api/requests", json=body(**changes))
    assert answer.status_code == 201, answer.text
    return answer.json()["reference"], {"Authorization": f"Bearer {answer.json()['status_token']}"}


def test_submit_answers_201_with_a_token_that_reads_the_status(client, web_settings):
    answer = client.post("/api/requests", json=body())
    assert answer.status_code == 201, answer.text
    out = answer.json()
    assert set(out) == {"reference", "status", "status_token"} and out["status"] == "received"
    stored = request_of(web_settings, out["reference"])
    assert out["status_token"] not in stored.status_token_hash and len(stored.status_token_hash) == 64
    assert stored.flow_run_id is None  # pending dispatch, committed with the request

    status = client.get(
        f"/api/requests/{out['reference']}", headers={"Authorization": f"Bearer {out['status_token']}"}
    )
    assert status.status_code == 200
    view = status.json()
    assert (view["reference"], view["status"], view["waiting_for"]) == (out["reference"], "received", None)
    assert view["due_date"] and [e["status"] for e in view["timeline"]] == ["received"]
    assert "taro" not in status.text and "山田" not in status.text  # no personal data on the status


def test_unknown_reference_and_wrong_token_answer_alike(client):
    reference, bearer = submitted(client)
    wrong = {"Authorization": "Bearer " + "x" * 32}
    answers = [
        client.get(f"/api/requests/{BAD_REFERENCE}", headers=bearer),
        client.get(f"/api/requests/{reference}", headers=wrong),
        client.get(f"/api/requests/{reference}"),
        client.post(f"/api/requests/{reference}/withdraw", headers=wrong),
        client.post(f"/api/requests/{BAD_REFERENCE}/withdraw", headers=bearer),
    ]
    assert {(a.status_code, a.text) for a in answers} == {(404, '{"detail":"not found"}')}
    assert client.get(f"/api/requests/{reference}", headers=bearer).status_code == 200


def test_field_errors_name_the_field_and_do_not_echo_the_input(client, web_settings):
    before = row_counts(web_settings)
    bad = body(
        principal={"email": "secret-address@@example", "phone": "phone-is-secret-42"},
        request_type="correction",
        details={"delivery": "by-pigeon-secret"},
    )
    answer = client.post("/api/requests", json=bad)
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.json()["detail"]}
    assert {"principal.name", "principal.email", "principal.phone", "details.delivery"} <= fields, fields
    assert all(set(e) == {"loc", "field", "msg", "type"} for e in answer.json()["detail"])
    for secret in ("secret-address", "phone-is-secret", "by-pigeon"):
        assert secret not in answer.text
    assert row_counts(web_settings) == before


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"request_type": "correction"}, "details.corrections"),
        ({"details": {"delivery": "postal"}}, "details.postal_address"),
        ({"details": {"delivery": "postal", "postal_address": " \u3000 "}}, "details.postal_address"),
        (
            {
                "request_type": "correction",
                "details": {
                    "corrections": [
                        {"field": "phone", "requested": "090-1111-2222"},
                        {"field": "email", "requested": "new@example.jp"},
                        {"field": "phone", "requested": "090-3333-4444"},
                    ]
                },
            },
            "details.corrections.2.field",
        ),
        ({"requester": {"role": "appointed_agent"}}, "requester.name"),
        ({"requester": {"role": "legal_representative", "name": "代理 花子"}}, "requester.email"),
        (  # only the help desk takes the email from the customer record
            {"principal": {"name": "山田 太郎", "login_id": "A1234567", "phone": "03-1234-5678"}},
            "principal.email",
        ),
    ],
)
def test_what_the_lifecycle_could_never_process_is_refused_naming_the_field(
    client, web_settings, changes, field
):
    """A correction without corrections, post without an address, a field corrected twice (two
    decision items under one key: the review could never store them), an agent who is not named
    or cannot be written to, a principal with no email: 422 on that field, nothing written."""
    before = row_counts(web_settings)
    answer = client.post("/api/requests", json=body(**changes))
    assert answer.status_code == 422, answer.text
    assert field in {e["field"] for e in answer.json()["detail"]}, answer.json()
    assert row_counts(web_settings) == before


def test_the_principal_as_requester_and_each_field_corrected_once_are_taken(client, web_settings):
    themself = body(requester={"role": "principal", "name": "山田 太郎", "email": "taro@example.co.jp"})
    assert client.post("/api/requests", json=themself).status_code == 201
    corrections = [
        {"field": "phone", "requested": "090-1111-2222"},
        {"field": "email", "requested": "n@example.jp"},
    ]
    taken = client.post(
        "/api/requests", json=body(request_type="correction", details={"corrections": corrections})
    )
    assert taken.status_code == 201, taken.text


@pytest.fixture
def systems(web_settings):
    with example_systems(web_settings) as registry:
        yield registry


def test_identity_code_verdicts(client, web_settings, systems):
    reference, bearer = submitted(client)
    url = f"/api/requests/{reference}/identity-code"
    early = client.post(url, json={"code": "123456"}, headers=bearer)
    assert (early.status_code, early.json()["result"]) == (409, "no_code")

    code = ask_for_code(web_settings, systems, reference)
    view = client.get(f"/api/requests/{reference}", headers=bearer).json()
    assert (view["status"], view["waiting_for"]) == ("awaiting_requester", "one_time_code")
    wrong = client.post(url, json={"code": "000000" if code != "000000" else "111111"}, headers=bearer)
    assert wrong.status_code == 422
    assert (wrong.json()["result"], wrong.json()["detail"][0]["field"]) == ("wrong", "code")
    assert client.post(url, json={"code": ""}, headers=bearer).status_code == 422
    assert client.post(url, json={"code": code}, headers={"Authorization": "Bearer nope"}).status_code == 404

    right = client.post(url, json={"code": code}, headers=bearer)
    assert (right.status_code, right.json()) == (200, {"reference": reference, "result": "verified"})
    again = client.post(url, json={"code": code}, headers=bearer)
    assert (again.status_code, again.json()["result"]) == (200, "already_verified")
    assert client.post(f"{url}/resend", headers=bearer).status_code == 409
    assert request_of(web_settings, reference).status == "identity_verification"


def test_code_resend_issues_a_new_code(client, web_settings, systems):
    reference, bearer = submitted(client)
    first = ask_for_code(web_settings, systems, reference)
    resent = client.post(f"/api/requests/{reference}/identity-code/resend", headers=bearer)
    assert (resent.status_code, resent.json()["result"]) == (200, "issued")
    second = ask_for_code(web_settings, systems, reference)  # the newest code notice
    if second != first:
        stale = client.post(f"/api/requests/{reference}/identity-code", json={"code": first}, headers=bearer)
        assert stale.status_code == 422
    ok = client.post(f"/api/requests/{reference}/identity-code", json={"code": second}, headers=bearer)
    assert ok.json()["result"] == "verified"


def test_documents_are_checked_by_content_and_stored_sealed(client, web_settings):
    reference, bearer = submitted(client)
    url = f"/api/requests/{reference}/documents"

    def upload(data: bytes, content_type: str, kind: str = "identity_document", name: str = "id.pdf"):
        return client.post(
            url, headers=bearer, data={"kind": kind}, files={"file": (name, data, content_type)}
        )

    taken = upload(PDF, "application/pdf")
    assert taken.status_code == 201, taken.text
    assert upload(PNG, "image/png", kind="power_of_attorney", name="poa.png").status_code == 201

    for data, content_type, kind, field in [
        (b"MZ\x90\x00 an executable renamed", "application/pdf", "identity_document", "file"),
        (PNG, "application/pdf", "identity_document", "file"),  # says PDF, is a PNG
        (b"", "application/pdf", "identity_document", "file"),
        (PDF, "application/pdf", "selfie", "kind"),
        (b"%PDF-" + b"0" * (10 * 1024 * 1024), "application/pdf", "identity_document", "file"),
    ]:
        rejected = upload(data, content_type, kind=kind)
        assert rejected.status_code == 422, (content_type, kind, rejected.text)
        assert rejected.json()["detail"][0]["field"] == field
    assert upload(PDF, "application/pdf").status_code == 201
    too_big = client.post(
        url,
        headers=bearer,
        data={"kind": "identity_document"},
        files={"file": ("big.pdf", b"%PDF-" + b"0" * (12 * 1024 * 1024), "application/pdf")},
    )
    assert too_big.status_code == 413

    with unit_of_work(web_settings) as session:
        stored = [Path(d.stored_path) for d in session.exec(select(Document).order_by(Document.id))]
    folder = Path(web_settings.data_dir) / "documents" / reference
    assert len(stored) == 3 and all(p.parent == folder and p.suffix == ".sealed" for p in stored)
    sealed = stored[0].read_bytes()
    assert PDF not in sealed and b"%PDF" not in sealed and "山田".encode() not in sealed
    assert len(sealed) > len(PDF)
    assert unseal(web_settings, reference, sealed) == PDF


def test_uploads_past_the_cap_answer_422_on_the_file_field(web_settings):
    capped = web_settings.model_copy(update={"max_documents_per_request": 2})
    with TestClient(create_app(capped)) as client:
        reference, bearer = submitted(client)
        answers = [
            client.post(
                f"/api/requests/{reference}/documents",
                headers=bearer,
                data={"kind": "power_of_attorney"},
                files={"file": ("p.png", PNG, "image/png")},
            )
            for _ in range(3)
        ]
    assert [a.status_code for a in answers] == [201, 201, 422]
    assert answers[2].json()["detail"][0]["field"] == "file"
    with unit_of_work(web_settings) as session:
        assert len(session.exec(select(Document)).all()) == 2


def test_a_chunked_body_is_counted_against_the_size_limit(client, web_settings):
    """No Content-Length (chunked): the bytes are counted as they stream in, and past the cap
    the answer is 413, nothing written; a chunked body under the cap is taken as usual."""
    reference, bearer = submitted(client)

    def chunked(data: bytes, size: int = 1024 * 1024):
        yield from (data[i : i + size] for i in range(0, len(data), size))

    padded = json.dumps(body()).encode() + b" " * (12 * 1024 * 1024)  # valid JSON, over the cap
    before = row_counts(web_settings)
    answer = client.post(
        "/api/requests", content=chunked(padded), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413 and answer.json() == {"detail": "the request body is too large"}
    assert row_counts(web_settings) == before
    upload = client.build_request(
        "POST",
        f"/api/requests/{reference}/documents",
        headers=bearer,
        data={"kind": "identity_document"},
        files={"file": ("big.pdf", b"%PDF-" + b"0" * (12 * 1024 * 1024), "application/pdf")},
    )
    streamed = client.post(
        f"/api/requests/{reference}/documents",
        content=chunked(upload.read()),
        headers={**bearer, "content-type": upload.headers["content-type"]},
    )
    assert streamed.status_code == 413
    assert (
        client.post(
            "/",
            content=chunked(b"csrf_token=x&scope=" + b"a" * (12 * 1024 * 1024)),
            headers={"content-type": "application/x-www-form-urlencoded"},
        ).status_code
        == 413
    )
    with unit_of_work(web_settings) as session:
        assert not session.exec(select(Document)).all()
    small = client.post(
        "/api/requests",
        content=chunked(json.dumps(body()).encode(), 7),
        headers={"content-type": "application/json"},
    )
    assert small.status_code == 201, small.text


def test_clarification_only_when_asked(client, web_settings):
    reference, bearer = submitted(client)
    url = f"/api/requests/{reference}/clarification"
    assert client.post(url, json={"text": "2025年の注文です"}, headers=bearer).status_code == 409
    assert client.post(url, json={"text": ""}, headers=bearer).status_code == 422
    with unit_of_work(web_settings) as session:
        load_request(session, reference).status = Status.REVIEW  # where an operator asks (identity aside)
        clarification.ask(
            session,
            web_settings,
            reference,
            "対象の期間を教えてください",
            actor="operator:test",
            now=utcnow(),
        )
    answered = client.post(url, json={"text": "2025年の注文です"}, headers=bearer)
    assert (answered.status_code, answered.json()["result"]) == (200, "answered")
    assert request_of(web_settings, reference).status == "review"
    assert client.post(url, json={"text": "もう一度"}, headers=bearer).status_code == 409


def test_withdraw_then_409(client, web_settings):
    reference, bearer = submitted(client)
    first = client.post(f"/api/requests/{reference}/withdraw", headers=bearer)
    assert (first.status_code, first.json()) == (200, {"reference": reference, "status": "withdrawn"})
    assert client.post(f"/api/requests/{reference}/withdraw", headers=bearer).status_code == 409
    view = client.get(f"/api/requests/{reference}", headers=bearer).json()
    assert view["status"] == "withdrawn" and [r["code"] for r in view["reasons"]] == ["request_withdrawn"]


def limited_client(web_settings, **limits) -> TestClient:
    api.limiter.__init__()
    return TestClient(create_app(web_settings.model_copy(update=limits)))


def test_rate_limit_per_client(web_settings):
    with limited_client(web_settings, intake_rate_per_client=3, intake_rate_per_email=100) as client:
        for i in range(3):
            submitted(client, principal={**body()["principal"], "email": f"p{i}@example.jp"})
        before = row_counts(web_settings)
        blocked = client.post("/api/requests", json=body())
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        assert row_counts(web_settings) == before
        assert (
            client.post(
                "/api/inquiries", json={"name": "山田", "email": "x@example.jp", "body": "質問"}
            ).status_code
            == 429
        )
        assert client.get("/healthz").status_code == 200  # reads are not writes


def test_rate_limit_per_address(web_settings):
    with limited_client(web_settings, intake_rate_per_client=100, intake_rate_per_email=2) as client:
        submitted(client)
        submitted(client, principal={**body()["principal"], "email": "Taro@Example.co.jp"})  # same address
        blocked = client.post("/api/requests", json=body())
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 60  # an hour's window
        agent = {"role": "appointed_agent", "name": "代理 花子", "email": "taro@example.co.jp"}
        assert (
            client.post(
                "/api/requests",
                json=body(principal={**body()["principal"], "email": "other@example.jp"}, requester=agent),
            ).status_code
            == 429
        )
        submitted(client, principal={**body()["principal"], "email": "someone-else@example.jp"})


def test_failed_lookups_are_limited_too(web_settings):
    with limited_client(web_settings, intake_rate_per_client=5) as client:
        answers = [
            client.get(f"/api/requests/{BAD_REFERENCE}", headers={"Authorization": "Bearer x"})
            for _ in range(7)
        ]
    assert [a.status_code for a in answers] == [404] * 5 + [429] * 2


def test_access_log_names_routes_never_personal_data(client, caplog):
    with caplog.at_level(logging.INFO, logger="madoguchi.access"):
        reference, bearer = submitted(client)
        token = bearer["Authorization"].split()[1]
        answer = client.get(f"/api/requests/{reference}?lang=en", headers=bearer)
        client.post(f"/api/requests/{reference}/clarification", json={"text": "山田です"}, headers=bearer)
        client.get("/unsubscribe?token=dGFyb0BleGFtcGxlLmNvLmpw.abc&lang=ja")
        client.get(f"/status?reference={reference}")
        client.post("/api/requests", json=body(principal={"name": "x", "email": "leak@@example"}))
    lines = [r.getMessage() for r in caplog.records if r.name == "madoguchi.access"]
    assert len(lines) >= 6
    assert any(line.startswith("GET /api/requests/{reference} 200") for line in lines), lines
    assert any(line.startswith("POST /api/requests 422") for line in lines), lines
    log = "\n".join(lines)
    for secret in (reference, token, "taro", "山田", "leak", "dGFyb0", "lang=", "?"):
        assert secret not in log, secret
    assert answer.headers["cache-control"] == "no-store"  # the answer carries the status token's view
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers.get_list("cache-control") == ["no-store"]  # set once, never twice


def test_a_path_with_a_nul_character_is_not_found_never_a_server_error(client):
    reference, bearer = submitted(client)
    for path in (f"/api/requests/{reference}%00", "/download/%00", "/%00"):
        answer = client.get(path, headers=bearer)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.headers["cache-control"] == "no-store"  # answered inside the access log

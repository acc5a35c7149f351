"""Issue 15 §2 on the gate: the operator calling a phone requester back reads the registered
number on the desk's call-back page (audited, never in Prefect); the help desk attaches the
scan of a copy that came by post, which ends the request's wait for it. The upstream is an
address nothing listens on: a call that reached the proxy would fail."""

import io
import re

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from models.db import unit_of_work, utcnow
from models.requests import RequestCreate
from models.rules.access import AccountRole
from models.rules.deadlines import jst_date
from models.rules.entry import Acknowledgement, Channel
from services import accounts, identity, intake
from services.documents import attach_identity_document
from tests.flows.support import PNG, events_of, request_of
from tests.services.conftest import PRINCIPAL, desk, review_desk  # noqa: F401 - fixtures
from tests.web.conftest import csrf_of
from web.app import create_app
from web.gate import create_gate

PASSWORD = "operator password 1"
SATO, ROOT = ("sato", PASSWORD), ("root", PASSWORD)
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
def gate(desk):  # noqa: F811 - the fixture imported above
    settings, registry = desk
    with unit_of_work(settings) as session:
        for name, role in (("sato", AccountRole.OPERATOR), ("root", AccountRole.ADMIN)):
            accounts.add(session, settings, name, role, PASSWORD, actor="test", now=utcnow())
    with TestClient(create_gate(NOWHERE, settings=settings)) as client:
        yield client, settings, registry


def _started(settings, registry, channel: str, postal_address: str | None = None, **principal) -> str:
    """A request the help desk entered, its identity check started as the flow starts it."""
    return _entered(settings, registry, channel, postal_address, **principal).reference


def _entered(
    settings, registry, channel: str, postal_address: str | None = None, **principal
) -> intake.Submitted:
    body = {
        "request_type": "disclosure",
        "principal": {**PRINCIPAL, **principal},
        "details": {"postal_address": postal_address},
    }
    with unit_of_work(settings) as session:
        entered = intake.enter(
            session,
            settings,
            RequestCreate.model_validate(body),
            channel=Channel(channel),
            received_on=jst_date(utcnow()),
            acknowledgement=Acknowledgement.EMAIL,
            actor="operator:sato",
            now=utcnow(),
        )
    with unit_of_work(settings) as session:
        identity.start(session, settings, entered.reference, registry=registry, now=utcnow())
    return entered


def test_the_call_back_page_shows_the_registered_number_not_the_one_given(gate):
    client, settings, registry = gate
    reference = _started(settings, registry, "phone", phone="090-0000-1111")  # a new phone
    page = client.get(f"/desk/requests/{reference}/callback", auth=SATO)
    assert page.status_code == 200, page.text
    shown = re.search(r'id="registered-phone">([^<]+)<', page.text)[1]
    assert re.sub(r"\D", "", shown) == "0312345678"  # the customer record's, not 090-0000-1111
    assert "090-0000-1111" not in page.text
    matched = re.search(r'id="matched">([^<]*)<', page.text)[1]
    assert "メールアドレス" in matched and "電話番号" not in matched
    assert page.headers["cache-control"] == "no-store"
    [viewed] = events_of(settings, reference, "request.identity.callback_sheet_viewed")
    assert viewed.actor == "operator:sato"


def test_the_call_back_page_is_for_operators_and_for_requests_checked_by_phone(gate):
    client, settings, registry = gate
    by_phone = _started(settings, registry, "phone")
    by_code = _started(settings, registry, "email")
    assert client.get(f"/desk/requests/{by_phone}/callback").status_code == 401
    assert client.get(f"/desk/requests/{by_phone}/callback", auth=ROOT).status_code == 403
    assert client.get(f"/desk/requests/{by_code}/callback", auth=SATO).status_code == 404
    assert client.get("/desk/requests/R-000000-XXXXXX/callback", auth=SATO).status_code == 404
    assert events_of(settings, by_phone, "request.identity.callback_sheet_viewed") == []


def test_the_help_desk_attaches_the_posted_copy_and_the_wait_for_it_ends(gate):
    client, settings, registry = gate
    reference = _started(settings, registry, "post", "東京都千代田区丸の内1-1-1")
    request = request_of(settings, reference)
    assert (request.status, request.waiting_for) == ("awaiting_requester", "identity_document")
    url = f"/desk/requests/{reference}/identity-document"
    form = client.get(url, auth=SATO)
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text

    not_a_scan = client.post(
        url,
        auth=SATO,
        data={"csrf_token": csrf_of(form.text)},
        files={"file": ("scan.txt", b"hello", "text/plain")},
    )
    assert not_a_scan.status_code == 422 and 'id="file-error"' in not_a_scan.text
    no_token = client.post(url, auth=SATO, files={"file": ("scan.png", PNG, "image/png")})
    assert no_token.status_code == 403
    assert request_of(settings, reference).waiting_for == "identity_document"

    done = client.post(
        url,
        auth=SATO,
        data={"csrf_token": csrf_of(form.text)},
        files={"file": ("scan.png", PNG, "image/png")},
    )
    assert done.status_code == 200 and "添付しました" in done.text
    request = request_of(settings, reference)
    assert (request.status, request.waiting_for) == ("identity_verification", None)
    [received] = events_of(settings, reference, "request.document.received")
    assert (received.actor, received.details["kind"]) == ("operator:sato", "identity_document")


def test_a_copy_is_attached_only_to_a_request_checked_by_post(gate):
    client, settings, registry = gate
    reference = _started(settings, registry, "phone")
    url = f"/desk/requests/{reference}/identity-document"
    form = client.get(url, auth=SATO)
    refused = client.post(
        url,
        auth=SATO,
        data={"csrf_token": csrf_of(form.text)},
        files={"file": ("scan.png", PNG, "image/png")},
    )
    assert refused.status_code == 422
    assert events_of(settings, reference, "request.document.received") == []


def test_a_registered_letter_is_marked_sent_only_with_its_tracking_number(gate):
    """The postal route's answer goes by registered mail: the letters page asks for Japan Post's
    number next to its button, refuses the button without one, and keeps it, audited."""
    client, settings, registry = gate
    address = "東京都千代田区丸の内1-1-1"
    reference = _started(settings, registry, "post", address)
    with unit_of_work(settings) as session:
        attach_identity_document(
            session,
            settings,
            reference,
            content_type="image/png",
            data=PNG,
            actor="operator:sato",
            now=utcnow(),
        )
        identity.decide_route(session, settings, reference, "verified", actor="operator:sato", now=utcnow())
    listed = client.get("/desk/letters", auth=SATO)
    letter_id = int(re.search(r'action="/desk/letters/(\d+)/sent"', listed.text)[1])
    assert "本人確認完了のお知らせ（書留）" in listed.text and 'name="tracking_number"' in listed.text
    url, token = f"/desk/letters/{letter_id}/sent", csrf_of(listed.text)

    for typed in ("", "1234-5678"):  # none, or too short
        refused = client.post(url, auth=SATO, data={"csrf_token": token, "tracking_number": typed})
        assert refused.status_code == 422 and f'id="tracking-{letter_id}-error"' in refused.text
    assert events_of(settings, reference, "letter.sent") == []

    sent = client.post(
        url,
        auth=SATO,
        data={"csrf_token": token, "tracking_number": "1234 5678 9012"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    [posted] = events_of(settings, reference, "letter.sent")
    assert (posted.actor, posted.details["kind"], posted.details["tracking_number"]) == (
        "operator:sato",
        "identity_confirmed",
        "123456789012",
    )
    pdf = client.get(f"/desk/letters/{letter_id}.pdf", auth=SATO)
    assert address in "".join(PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text().split())


def test_the_requesters_status_page_says_it_waits_for_the_posted_copy(gate):
    _, settings, registry = gate
    entered = _entered(settings, registry, "post", "東京都千代田区丸の内1-1-1")
    with TestClient(create_app(settings)) as intake_client:
        form = intake_client.get("/status")
        status = intake_client.post(
            "/status",
            data={
                "csrf_token": csrf_of(form.text),
                "reference": entered.reference,
                "token": entered.status_token,
            },
        )
    assert status.status_code == 200, status.text
    waiting = re.search(r'data-waiting-for="([^"]+)">([^<]+)<', status.text)
    assert waiting.groups() == ("identity_document", "本人確認書類の写しのご郵送")

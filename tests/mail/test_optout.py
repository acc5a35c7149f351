"""Marketing opt-out end to end: link and form → ledger + SendGrid group; service mail goes on."""

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlmodel import select

from mail.optout import is_opted_out, make_token, one_month_after, opt_out, read_token, router
from mail.outbox import deliver_pending, enqueue
from models.db import unit_of_work
from models.fulfilment import Notice
from models.ledgers import ConsentEvent
from tests.mail.conftest import CONTEXTS

ADDRESS = "hanako@example.co.jp"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(client_for):
    return client_for(router)


def _ledger(settings):
    with unit_of_work(settings) as session:
        return session.exec(select(ConsentEvent).order_by(ConsentEvent.id)).all()


def test_token_round_trip_and_tampering(settings):
    token = make_token(settings, " Hanako@Example.co.jp ")
    assert read_token(settings, token) == ADDRESS
    other = make_token(settings, "someone@example.com")
    assert read_token(settings, token.split(".")[0] + "." + other.split(".", 1)[1]) is None
    assert read_token(settings.model_copy(update={"secret_key": SecretStr("other")}), token) is None
    assert read_token(settings, "garbage") is None and read_token(settings, "a.b.c") is None


def test_one_month_after_clamps_to_the_month_end():
    assert one_month_after(datetime(2027, 1, 31, tzinfo=UTC)) == datetime(2027, 2, 28, tzinfo=UTC)
    assert one_month_after(datetime(2026, 12, 15, tzinfo=UTC)) == datetime(2027, 1, 15, tzinfo=UTC)


def test_unsubscribe_link_records_opt_out_suppresses_and_confirms(mail_settings, client, stub):
    token = make_token(mail_settings, ADDRESS)
    page = client.get("/unsubscribe", params={"token": token, "lang": "en"})
    assert page.status_code == 200 and "配信停止の手続きが完了しました" in page.text
    assert "unsubscribed" in page.text
    (event,) = _ledger(mail_settings)
    assert (event.email, event.event, event.source) == (ADDRESS, "opted_out", "unsubscribe_link")
    assert event.keep_until.month == event.at.month % 12 + 1
    assert stub.suppressions() == [ADDRESS]
    # A second click changes nothing and sends no second confirmation.
    assert client.get("/unsubscribe", params={"token": token}).status_code == 200
    assert len(_ledger(mail_settings)) == 1
    with unit_of_work(mail_settings) as session:
        (confirmation,) = session.exec(select(Notice)).all()
        assert (confirmation.kind, confirmation.language) == ("opt_out_confirmation", "en")


def test_a_forged_link_is_refused(client, mail_settings, stub):
    page = client.get("/unsubscribe", params={"token": "aGFuYWtv.AAAA"})
    assert page.status_code == 400 and "無効" in page.text
    assert _ledger(mail_settings) == [] and stub.suppressions() == []


def test_one_click_post(client, mail_settings, stub):
    token = make_token(mail_settings, ADDRESS)
    assert client.post("/unsubscribe", params={"token": token}).json() == {"status": "unsubscribed"}
    assert _ledger(mail_settings)[0].source == "one_click" and stub.suppressions() == [ADDRESS]


def test_form_answers_alike_for_known_and_unknown_addresses(client, mail_settings, stub):
    with unit_of_work(mail_settings) as session:
        session.add(ConsentEvent(email=ADDRESS, event="consented", source="signup", at=NOW))
    known = client.post("/api/opt-out", json={"email": ADDRESS})
    unknown = client.post("/api/opt-out", json={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert client.post("/api/opt-out", json={"email": "not an address"}).status_code == 422
    consent, opted_out, _ = _ledger(mail_settings)
    assert opted_out.event == "opted_out" and opted_out.source == "opt_out_form"
    assert consent.keep_until == opted_out.keep_until  # consent kept a month after sending stops
    assert sorted(stub.suppressions()) == sorted([ADDRESS, "nobody@example.org"])


def test_after_opt_out_marketing_stops_and_an_important_notice_still_goes(mail_settings, port, stub):
    with unit_of_work(mail_settings) as session:
        opt_out(session, ADDRESS, "opt_out_form", NOW, settings=mail_settings)
        assert is_opted_out(session, ADDRESS.upper())
        for kind in ("marketing", "decision"):
            enqueue(
                session,
                kind=kind,
                language="ja",
                recipient_email=ADDRESS,
                idempotency_key=f"k:{kind}",
                context=CONTEXTS[kind],
                now=NOW,
            )
    report = deliver_pending(mail_settings, port, NOW)
    assert len(report.sent) == 1 and len(report.suppressed) == 1
    (payload,) = stub.messages()
    assert payload["categories"][1] == "decision" and "asm" not in payload
    assert payload["personalizations"][0]["to"][0]["email"] == ADDRESS

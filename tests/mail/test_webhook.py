"""SendGrid's signed event webhook, with events signed by the stub's own key."""

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from mail.optout import is_opted_out
from mail.outbox import deliver_pending, enqueue
from mail.webhook import router
from models.audit import AuditEvent
from models.db import unit_of_work
from models.fulfilment import Notice
from models.settings import get_settings
from tests.mail.conftest import CONTEXTS

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ADDRESS = "jiro@example.co.jp"


@pytest.fixture
def client(client_for):
    return client_for(router)


@pytest.fixture
def sent(mail_settings, port, stub):
    """One decision notice and one marketing mail, sent through the stub."""
    with unit_of_work(mail_settings) as session:
        for kind in ("decision", "marketing"):
            enqueue(
                session,
                kind=kind,
                language="ja",
                recipient_email=ADDRESS,
                idempotency_key=f"R-1:{kind}",
                context=CONTEXTS[kind],
                now=NOW,
            )
    deliver_pending(mail_settings, port, NOW)
    with unit_of_work(mail_settings) as session:
        return {n.kind: n for n in session.exec(select(Notice))}


def _post(client, stub, message_id, event, bad_signature=False, **extra):
    signed = stub.call(
        "POST",
        "/_events",
        {"message_id": message_id, "event": event, "bad_signature": bad_signature, "extra": extra},
    )
    return client.post("/webhooks/sendgrid", content=signed["body"], headers=signed["headers"])


def _notice(settings, kind) -> Notice:
    with unit_of_work(settings) as session:
        return session.exec(select(Notice).where(Notice.kind == kind)).one()


def test_a_bad_signature_is_refused(client, stub, sent, mail_settings):
    assert (
        _post(client, stub, sent["decision"].provider_message_id, "delivered", bad_signature=True).status_code
        == 403
    )
    assert client.post("/webhooks/sendgrid", content="[]").status_code == 403
    assert _notice(mail_settings, "decision").delivery_status is None


def test_without_a_configured_key_everything_is_refused(client, stub, sent, mail_settings):
    client.app.dependency_overrides[get_settings] = lambda: mail_settings.model_copy(
        update={"sendgrid_webhook_public_key": None}
    )
    assert _post(client, stub, sent["decision"].provider_message_id, "delivered").status_code == 403


def test_delivered_updates_the_notice(client, stub, sent, mail_settings):
    assert _post(client, stub, sent["decision"].provider_message_id, "delivered").status_code == 200
    assert _notice(mail_settings, "decision").delivery_status == "delivered"


def test_a_bounced_decision_notice_shows_up_for_an_operator(client, stub, sent, mail_settings):
    message_id = sent["decision"].provider_message_id
    for _ in range(2):  # SendGrid redelivers: the second changes nothing
        assert _post(client, stub, message_id, "bounce", reason="550 5.1.1 user unknown").status_code == 200
    assert _post(client, stub, message_id, "delivered").status_code == 200  # late and weaker
    notice = _notice(mail_settings, "decision")
    assert (notice.state, notice.delivery_status) == ("undeliverable", "bounce")
    assert "user unknown" in notice.last_error
    with unit_of_work(mail_settings) as session:
        (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "notice.bounced")).all()
        assert event.subject_ref == CONTEXTS["decision"]["reference"]
        assert ADDRESS not in str(event.details)


@pytest.mark.parametrize("event", ["spamreport", "group_unsubscribe"])
def test_spam_reports_and_unsubscribes_reach_the_consent_ledger(client, stub, sent, mail_settings, event):
    assert _post(client, stub, sent["marketing"].provider_message_id, event).status_code == 200
    with unit_of_work(mail_settings) as session:
        assert is_opted_out(session, ADDRESS)
    assert _notice(mail_settings, "marketing").delivery_status == event


def test_events_are_matched_by_message_id_without_custom_args(client, stub, sent, mail_settings):
    message_id = sent["decision"].provider_message_id
    response = _post(client, stub, message_id, "delivered", notice_key="")
    assert response.status_code == 200
    assert _notice(mail_settings, "decision").delivery_status == "delivered"

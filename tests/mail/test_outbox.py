"""The outbox through the real sendgrid client against the stub: once, and only once."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from mail.outbox import REMOVED, deliver_pending, enqueue
from mail.port import LookupUnavailable, OutgoingMessage, SendResult
from mail.render import KINDS
from mail.sendgrid_adapter import SendGridAdapter
from models.audit import AuditEvent
from models.db import unit_of_work
from models.fulfilment import Notice
from tests.mail.conftest import CONTEXTS, GROUP_ID

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _enqueue(settings, kind="acknowledgement", key="R-1:ack", language="ja", to="taro@example.co.jp"):
    with unit_of_work(settings) as session:
        return enqueue(
            session,
            kind=kind,
            language=language,
            recipient_email=to,
            idempotency_key=key,
            context=CONTEXTS[kind],
            now=NOW,
        ).id


def _notice(settings, notice_id) -> Notice:
    with unit_of_work(settings) as session:
        return session.get(Notice, notice_id)


def _later(seconds=None, settings=None):
    return NOW + timedelta(seconds=seconds or settings.mail_claim_timeout_seconds + 1)


def test_every_kind_in_both_languages_reaches_the_stub(mail_settings, port, stub):
    for kind in KINDS:
        for language in ("ja", "en"):
            _enqueue(mail_settings, kind, f"R-1:{kind}:{language}", language)
    report = deliver_pending(mail_settings, port, NOW)
    assert len(report.sent) == 2 * len(KINDS)
    messages = stub.messages()
    assert len(messages) == 2 * len(KINDS)
    for payload in messages:
        kind = payload["categories"][1]
        assert payload["from"]["email"] == mail_settings.mail_from_email
        assert payload["reply_to"]["email"] == mail_settings.mail_reply_to
        assert payload["custom_args"]["notice_key"].startswith(f"R-1:{kind}:")
        assert set(payload["custom_args"]) <= {"notice_key", "reference"}
        if kind == "marketing":
            assert payload["asm"] == {"group_id": GROUP_ID}
            assert payload["headers"]["List-Unsubscribe"].startswith("<http://intake.test/unsubscribe?token=")
        else:
            assert "asm" not in payload and "headers" not in payload
    with unit_of_work(mail_settings) as session:
        notices = session.exec(select(Notice)).all()
        assert {n.state for n in notices} == {"sent"}
        assert all(n.provider_message_id and n.sent_at == NOW for n in notices)
        assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "notice.sent")).all()) == len(
            notices
        )


def test_same_key_twice_is_one_notice_and_one_message(mail_settings, port, stub):
    first = _enqueue(mail_settings)
    assert _enqueue(mail_settings) == first
    deliver_pending(mail_settings, port, NOW)
    deliver_pending(mail_settings, port, NOW)
    assert len(stub.messages()) == 1


def test_a_sent_notice_keeps_no_code_and_no_download_link(mail_settings, port, stub):
    link = "http://intake.test/packages/R-1?token=secret-token"
    code_id = _enqueue(mail_settings, "one_time_code", "R-1:code")
    with unit_of_work(mail_settings) as session:
        decision_id = enqueue(
            session,
            kind="decision",
            language="ja",
            recipient_email="taro@example.co.jp",
            idempotency_key="R-1:decision",
            now=NOW,
            context={**CONTEXTS["decision"], "package_url": link, "package_expires_at": "2026-12-08"},
        ).id
    deliver_pending(mail_settings, port, NOW)
    sent = {m["custom_args"]["notice_key"]: m["content"][0]["value"] for m in stub.messages()}
    assert CONTEXTS["one_time_code"]["code"] in sent["R-1:code"] and link in sent["R-1:decision"]
    code, decision = _notice(mail_settings, code_id), _notice(mail_settings, decision_id)
    assert code.context["code"] == decision.context["package_url"] == REMOVED
    assert code.context["reference"] == CONTEXTS["one_time_code"]["reference"]  # the rest is kept


def test_enqueue_rolls_back_with_the_callers_transaction(mail_settings):
    with pytest.raises(RuntimeError), unit_of_work(mail_settings) as session:
        enqueue(
            session,
            kind="acknowledgement",
            language="ja",
            recipient_email="a@example.com",
            idempotency_key="R-2:ack",
            context=CONTEXTS["acknowledgement"],
            now=NOW,
        )
        raise RuntimeError("the state change failed")
    with unit_of_work(mail_settings) as session:
        assert session.exec(select(Notice)).all() == []


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 429, "retry_after": 1, "count": 2},
        {"status": 500, "count": 2},
        {"status": 503, "count": 1},
    ],
)
def test_transient_faults_are_tried_again_later_and_delivered_once(mail_settings, port, stub, fault):
    notice_id = _enqueue(mail_settings)
    stub.fault(**fault)
    now = NOW
    for _ in range(fault["count"]):
        assert deliver_pending(mail_settings, port, now).retry_later == [notice_id]
        notice = _notice(mail_settings, notice_id)
        assert notice.state == "pending" and str(fault["status"]) in notice.last_error
        assert notice.next_attempt_at >= now + timedelta(seconds=fault.get("retry_after", 0))
        assert deliver_pending(mail_settings, port, now).sent == []  # not due yet: not tried
        now = notice.next_attempt_at
    assert deliver_pending(mail_settings, port, now).sent == [notice_id]
    assert len(stub.messages()) == 1
    with unit_of_work(mail_settings) as session:
        retries = session.exec(select(AuditEvent).where(AuditEvent.action == "notice.retry")).all()
    assert [event.details["attempts"] for event in retries] == list(range(1, fault["count"] + 1))


def test_a_slow_answer_is_in_doubt_and_reconciled_without_a_second_send(mail_settings, stub):
    port = SendGridAdapter(mail_settings.model_copy(update={"sendgrid_timeout_seconds": 0.5}))
    notice_id = _enqueue(mail_settings)
    stub.fault(delay=1.0)
    assert deliver_pending(mail_settings, port, NOW).in_doubt == [notice_id]
    assert _notice(mail_settings, notice_id).state == "sending"
    time.sleep(0.8)  # the stub answers (and accepts) after the client gave up
    assert deliver_pending(mail_settings, port, NOW).sent == []  # claim not yet timed out
    report = deliver_pending(mail_settings, port, _later(settings=mail_settings))
    assert report.reconciled == [notice_id]
    notice = _notice(mail_settings, notice_id)
    assert notice.state == "sent" and notice.provider_message_id
    assert len(stub.messages()) == 1


def test_a_permanent_400_fails_the_notice_with_sendgrids_text(mail_settings, port, stub):
    notice_id = _enqueue(mail_settings)
    stub.fault(
        status=400, message="The from address does not match a verified Sender Identity.", field="from"
    )
    assert deliver_pending(mail_settings, port, NOW).failed == [notice_id]
    notice = _notice(mail_settings, notice_id)
    assert notice.state == "failed"
    assert (
        notice.last_error == "SendGrid 400: from: The from address does not match a verified Sender Identity."
    )
    assert stub.messages() == []
    with unit_of_work(mail_settings) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "notice.failed")).one()
        assert event.subject_ref == CONTEXTS["acknowledgement"]["reference"]


class Crash(BaseException):
    """A process dying: not an Exception, so nothing on the way catches it."""


class CrashingPort:
    def __init__(self, port, before_send: bool) -> None:
        self.port, self.before_send = port, before_send

    def send(self, message: OutgoingMessage) -> SendResult:
        if not self.before_send:
            self.port.send(message)
        raise Crash()

    def find_sent(self, key):
        return self.port.find_sent(key)


@pytest.mark.parametrize(
    "before_send", [True, False], ids=["after-commit-before-send", "after-send-before-mark"]
)
def test_a_crash_around_the_send_ends_in_exactly_one_message(mail_settings, port, stub, before_send):
    notice_id = _enqueue(mail_settings)
    with pytest.raises(Crash):
        deliver_pending(mail_settings, CrashingPort(port, before_send), NOW)
    assert _notice(mail_settings, notice_id).state == "sending"
    assert deliver_pending(mail_settings, port, NOW).sent == []  # a live claim is left alone
    deliver_pending(mail_settings, port, _later(settings=mail_settings))
    notice = _notice(mail_settings, notice_id)
    assert notice.state == "sent"
    assert notice.attempts == (2 if before_send else 1)
    assert len(stub.messages()) == 1


def test_a_claim_the_provider_cannot_vouch_for_goes_to_an_operator(mail_settings, port, stub):
    class NoLookup(CrashingPort):
        def find_sent(self, key):
            raise LookupUnavailable("403")

    notice_id = _enqueue(mail_settings, "one_time_code", "R-1:code")
    with pytest.raises(Crash):
        deliver_pending(mail_settings, CrashingPort(port, before_send=False), NOW)
    report = deliver_pending(mail_settings, NoLookup(port, False), _later(settings=mail_settings))
    assert report.in_doubt == [notice_id]
    notice = _notice(mail_settings, notice_id)
    assert notice.state == "in_doubt" and notice.context["code"] == REMOVED
    assert len(stub.messages()) == 1
    with unit_of_work(mail_settings) as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "notice.in_doubt")).one()


def test_the_file_outbox_is_the_same_port(settings, tmp_path):
    from mail.file_adapter import FileOutbox
    from mail.port import EmailPort
    from models.schema import upgrade

    upgrade(settings)
    outbox = FileOutbox(tmp_path / "out", "privacy@example.jp", "窓口")
    assert isinstance(outbox, EmailPort)
    notice_id = _enqueue(settings)
    assert deliver_pending(settings, outbox, NOW).sent == [notice_id]
    assert len(list((tmp_path / "out").glob("*.eml"))) == 1
    assert outbox.find_sent("R-1:ack").provider_message_id == _notice(settings, notice_id).provider_message_id

"""Mail that cannot be sent is seen: the real sendgrid client against the stub, made to fail
over HTTP (``POST /_faults``) for a while or for good. Temporary failures are tried again with
backoff and each notice reaches SendGrid once; past the cap a notice is failed, its secrets
removed, the privacy officer told once and the work queue shows it; no call waits long."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from mail.outbox import REMOVED, deliver_pending, enqueue
from mail.sendgrid_adapter import SendGridAdapter
from models.audit import AuditEvent
from models.db import unit_of_work, utcnow
from models.fulfilment import Notice
from models.requests import RequestCreate
from services import intake, sla_report
from tests.mail.conftest import CONTEXTS

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PRINCIPAL = {
    "name": "山田 太郎",
    "email": "taro@example.co.jp",
    "phone": "03-1234-5678",
    "company": "株式会社サンプル",
    "login_id": "A1234567",
}


def _code_notice(
    settings,
    key: str,
    request_id: int | None = None,
    now: datetime = NOW,
    reference: str = CONTEXTS["one_time_code"]["reference"],
) -> int:
    with unit_of_work(settings) as session:
        return enqueue(
            session,
            kind="one_time_code",
            language="ja",
            recipient_email="taro@example.co.jp",
            idempotency_key=key,
            context={**CONTEXTS["one_time_code"], "reference": reference},
            request_id=request_id,
            now=now,
        ).id


def _notices(settings) -> list[Notice]:
    with unit_of_work(settings) as session:
        return list(session.exec(select(Notice).order_by(Notice.id)))


def _actions(settings, action: str) -> list[AuditEvent]:
    with unit_of_work(settings) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def _sent_keys(stub) -> list[str]:
    return [m["custom_args"]["notice_key"] for m in stub.messages()]


def test_an_outage_then_recovery_delivers_each_notice_once_with_two_callers_at_once(mail_settings, stub):
    """503 then 429 for a while; two delivery loops run side by side (as the dispatcher's
    thread and the flows' send-notices task do) until the stub recovers."""
    settings = mail_settings.model_copy(
        update={
            "sendgrid_backoff_seconds": 0.05,
            "sendgrid_max_backoff_seconds": 0.3,
            "sendgrid_max_attempts": 1000,
        }
    )
    ids = [_code_notice(settings, f"R-1:code:{i}", now=utcnow()) for i in range(8)]
    stub.fault(status=503, seconds=1.0)
    stub.fault(status=429, retry_after=0, seconds=2.0)  # windows are absolute: 429 after the 503s
    calls: list[float] = []

    def loop() -> None:
        port = SendGridAdapter(settings)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(n.state != "sent" for n in _notices(settings)):
            started = time.monotonic()
            deliver_pending(settings, port)
            calls.append(time.monotonic() - started)
            time.sleep(0.05)

    threads = [threading.Thread(target=loop) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(_sent_keys(stub)) == sorted(f"R-1:code:{i}" for i in range(8))  # each once
    notices = _notices(settings)
    assert [n.id for n in notices] == ids and {n.state for n in notices} == {"sent"}
    assert all(n.context["code"] == REMOVED for n in notices)
    retries = _actions(settings, "notice.retry")
    assert {e.details["error"].split(":")[0] for e in retries} == {"SendGrid 503", "SendGrid 429"}
    assert len(_actions(settings, "notice.sent")) == 8
    assert max(calls) < 3.0  # no call waits out a backoff: a failing SendGrid ends it at once


def test_a_notice_failing_past_the_cap_is_failed_scrubbed_escalated_once_and_on_the_work_queue(
    mail_settings, stub
):
    settings = mail_settings.model_copy(update={"sendgrid_max_attempts": 3})
    with unit_of_work(settings) as session:
        submitted = intake.submit(
            session,
            settings,
            RequestCreate.model_validate({"request_type": "disclosure", "principal": PRINCIPAL}),
            now=NOW,
        )
        request_id = session.exec(select(Notice.request_id)).one()
    code_id = _code_notice(settings, f"{submitted.reference}:code", request_id, reference=submitted.reference)
    stub.fault(status=503, seconds=60)
    now = NOW
    while any(n.state == "pending" and n.kind != "privacy_officer_escalation" for n in _notices(settings)):
        deliver_pending(settings, SendGridAdapter(settings), now)
        now += timedelta(seconds=settings.sendgrid_max_backoff_seconds)  # every pending notice due again

    failed = [n for n in _notices(settings) if n.kind != "privacy_officer_escalation"]
    assert {n.state for n in failed} == {"failed"} and {n.attempts for n in failed} == {3}
    assert all(n.last_error == "gave up after 3 tries: SendGrid 503: stub fault 503" for n in failed)
    code = next(n for n in failed if n.id == code_id)
    assert code.context["code"] == REMOVED and code.context["reference"] == submitted.reference
    retried = [e.details["notice_id"] for e in _actions(settings, "notice.retry")]
    assert sorted(i for i in retried if i in {n.id for n in failed}) == sorted(2 * [n.id for n in failed])
    assert [e.details["escalated"] for e in _actions(settings, "notice.failed")] == [True, True]

    stub.call("DELETE", "/_faults")
    for _ in range(2):  # told once per failed notice, however often delivery runs
        deliver_pending(settings, SendGridAdapter(settings), now)
    escalations = [m for m in stub.messages() if "privacy_officer_escalation" in m["categories"]]
    assert len(escalations) == 2 and _sent_keys(stub) == [f"notice:{n.id}:failed" for n in failed]
    assert {m["personalizations"][0]["to"][0]["email"] for m in escalations} == {
        settings.mail_privacy_officer_email
    }
    assert "通知メールを送信できませんでした" in escalations[0]["subject"]

    with unit_of_work(settings) as session:
        rows, total = sla_report.failed_mail(session, ui_url="http://prefect.test")
    assert total == 2 and [r["受付番号"] for r in rows] == [submitted.reference] * 2
    assert {r["種別"] for r in rows} == {"メール one_time_code", "メール acknowledgement"}
    assert rows[0]["状態"] == "送信失敗: gave up after 3 tries: SendGrid 503: stub fault 503"
    assert rows[0]["残り"] == "3回試行"
    shown = json.dumps(rows, ensure_ascii=False)
    assert not [value for value in PRINCIPAL.values() if value in shown]


def test_a_permanent_failure_is_not_tried_again_and_mail_to_the_officer_is_not_escalated(mail_settings, stub):
    link = "http://intake.test/packages/R-1?token=secret-token"
    with unit_of_work(mail_settings) as session:
        decision = enqueue(
            session,
            kind="decision",
            language="ja",
            recipient_email="taro@example.co.jp",
            idempotency_key="R-1:decision",
            now=NOW,
            context={**CONTEXTS["decision"], "package_url": link, "package_expires_at": "2026-12-08"},
        )
        warning = enqueue(
            session,
            kind="sla_warning",
            language="ja",
            now=NOW,
            recipient_email=mail_settings.mail_privacy_officer_email,
            idempotency_key="R-1:sla_warning",
            context=CONTEXTS["sla_warning"],
        )
    stub.fault(
        status=400,
        message="Does not contain a valid address.",
        field="personalizations.0.to.0.email",
        count=2,
    )
    port = SendGridAdapter(mail_settings)
    assert deliver_pending(mail_settings, port, NOW).failed == [decision.id, warning.id]
    deliver_pending(mail_settings, port, NOW + timedelta(days=1))  # the escalation, and nothing else
    assert _sent_keys(stub) == [f"notice:{decision.id}:failed"]
    by_key = {n.idempotency_key: n for n in _notices(mail_settings)}
    assert by_key["R-1:decision"].attempts == 1 and by_key["R-1:decision"].state == "failed"
    assert by_key["R-1:decision"].context["package_url"] == REMOVED
    assert f"notice:{warning.id}:failed" not in by_key  # the officer's own mail would fail the same way
    assert _actions(mail_settings, "notice.retry") == []


def test_one_call_ends_at_the_first_temporary_failure(mail_settings, stub):
    ids = [_code_notice(mail_settings, f"R-1:code:{i}") for i in range(5)]
    stub.fault(status=503, count=100)
    report = deliver_pending(mail_settings, SendGridAdapter(mail_settings), NOW)
    assert report.retry_later == ids[:1] and report.sent == []
    assert [n.attempts for n in _notices(mail_settings)] == [1, 0, 0, 0, 0]


def test_a_slow_sendgrid_does_not_make_one_call_long(mail_settings, stub):
    settings = mail_settings.model_copy(update={"mail_delivery_budget_seconds": 0.5})
    ids = [_code_notice(settings, f"R-1:code:{i}") for i in range(6)]
    stub.fault(delay=0.3, count=6)  # answered, slowly
    port = SendGridAdapter(settings)
    started = time.monotonic()
    first = deliver_pending(settings, port, NOW)
    assert time.monotonic() - started < 0.5 + settings.sendgrid_timeout_seconds
    assert 1 <= len(first.sent) < 6
    assert [n.state for n in _notices(settings)].count("pending") == 6 - len(first.sent)
    sent = list(first.sent)
    while len(sent) < 6:
        sent += deliver_pending(settings, port, NOW).sent
    assert sent == ids and len(stub.messages()) == 6


@pytest.fixture
def monitor_env(monkeypatch, tmp_path, prefect_api, stub_server):
    """The settings a monitor run reads from the environment, as a worker's would."""
    from models.schema import upgrade
    from models.settings import get_settings

    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", "monitor-test")
    monkeypatch.setenv("MADOGUCHI_SENDGRID_HOST", stub_server.url)
    monkeypatch.setenv("MADOGUCHI_SENDGRID_API_KEY", "test-key")
    get_settings.cache_clear()
    settings = get_settings()
    upgrade(settings)
    yield settings
    get_settings.cache_clear()


def test_the_monitors_work_queue_artifact_shows_failed_mail_first(monitor_env, stub):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

    from tasks.monitor import check_deadlines

    settings = monitor_env
    with unit_of_work(settings) as session:
        reference = intake.submit(
            session,
            settings,
            RequestCreate.model_validate({"request_type": "disclosure", "principal": PRINCIPAL}),
            now=utcnow(),
        ).reference
    stub.fault(
        status=403, message="The from address does not match a verified Sender Identity.", field="from"
    )
    deliver_pending(settings, SendGridAdapter(settings))
    check_deadlines()
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=["work-queue"]))
        )
    rows = json.loads(artifact.data)
    assert [(r["受付番号"], r["種別"]) for r in rows] == [
        (reference, "メール acknowledgement"),
        (reference, "disclosure"),
    ]
    assert (
        rows[0]["状態"]
        == "送信失敗: SendGrid 403: from: The from address does not match a verified Sender Identity."
    )
    assert artifact.description.startswith("送信できなかったメール 1件")
    shown = json.dumps(artifact.model_dump(mode="json"), ensure_ascii=False)
    assert not [value for value in PRINCIPAL.values() if value in shown]

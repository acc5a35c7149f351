"""Adapter configuration: where the key comes from, sandbox mode, which port is used."""

import logging

import pytest
from pydantic import SecretStr

from mail.file_adapter import FileOutbox
from mail.outbox import deliver_pending, enqueue
from mail.port import OutgoingMessage
from mail.sendgrid_adapter import MailNotConfigured, SendGridAdapter, email_port, resolve_api_key
from models.db import unit_of_work
from tests.mail.conftest import CONTEXTS

MESSAGE = OutgoingMessage(
    to="a@example.com",
    subject="s",
    text="t",
    html="<p>h</p>",
    idempotency_key="k",
    kind="acknowledgement",
    language="ja",
    reference="R-1",
)


def test_api_key_from_a_prefect_secret_block_wins(settings, monkeypatch):
    from prefect.blocks import system

    class FakeSecret:
        @staticmethod
        def load(name):
            assert name == "sendgrid-api-key"
            return type("Loaded", (), {"get": lambda self: "from-block"})()

    monkeypatch.setattr(system, "Secret", FakeSecret)
    both = settings.model_copy(
        update={"sendgrid_api_key": SecretStr("from-env"), "sendgrid_api_key_block": "sendgrid-api-key"}
    )
    assert resolve_api_key(both) == "from-block"
    assert (
        resolve_api_key(settings.model_copy(update={"sendgrid_api_key": SecretStr("from-env")})) == "from-env"
    )


def test_sandbox_mode_and_categories_from_settings(mail_settings):
    adapter = SendGridAdapter(mail_settings.model_copy(update={"sendgrid_sandbox_mode": True}))
    payload = adapter.payload(MESSAGE)
    assert payload["mail_settings"] == {"sandbox_mode": {"enable": True}}
    assert payload["categories"] == ["madoguchi", "acknowledgement"]
    assert payload["custom_args"] == {"notice_key": "k", "reference": "R-1"}


def test_without_sendgrid_the_file_outbox_is_for_a_demo_only(settings, mail_settings):
    with pytest.raises(MailNotConfigured, match="MADOGUCHI_SENDGRID_API_KEY"):
        email_port(settings)
    assert isinstance(email_port(settings.model_copy(update={"autopilot": True})), FileOutbox)
    assert isinstance(email_port(mail_settings), SendGridAdapter)


def test_no_address_in_log_lines(mail_settings, port, stub, caplog):
    caplog.set_level(logging.DEBUG)
    with unit_of_work(mail_settings) as session:
        enqueue(
            session,
            kind="acknowledgement",
            language="ja",
            recipient_email="secret.person@example.jp",
            idempotency_key="R-9:ack",
            context=CONTEXTS["acknowledgement"],
        )
    stub.fault(status=500, count=1)
    deliver_pending(mail_settings, port)
    assert caplog.records
    assert "secret.person" not in caplog.text and "test-key" not in caplog.text

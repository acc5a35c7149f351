"""The email port on SendGrid's v3 mail send, through the official ``sendgrid`` client.

One try per call, with a short timeout: 429, 5xx and a connection that fails before the
request left are transient (with SendGrid's ``Retry-After``, if any), and the outbox tries
again later with backoff (``mail/outbox.py``), so a slow or failing SendGrid never holds up a
delivery call. Any other 4xx is permanent and keeps SendGrid's own error text for the
operator. A read timeout means the request left and no answer came back: that is in doubt,
never retried blindly, because SendGrid has no idempotency header (the outbox reconciles it).
"""

import http.client
import json
import logging
from urllib.error import URLError

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from mail.port import (
    InDoubtSendError,
    LookupUnavailable,
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)
from models.settings import Settings

CUSTOM_ARG_KEY = "notice_key"
CUSTOM_ARG_REFERENCE = "reference"


def resolve_api_key(settings: Settings) -> str | None:
    """From the Prefect Secret block if one is named, else ``MADOGUCHI_SENDGRID_API_KEY``."""
    if settings.sendgrid_api_key_block:
        from prefect.blocks.system import Secret

        # Prefect types load() as the block or a coroutine; called from sync code it is the block
        return Secret.load(settings.sendgrid_api_key_block).get()  # type: ignore[union-attr]
    return settings.sendgrid_api_key.get_secret_value() if settings.sendgrid_api_key else None


def error_text(exc: HTTPError) -> str:
    """SendGrid's own messages (``errors[].message`` and field), for an operator to read."""
    try:
        errors = json.loads(exc.body or b"{}").get("errors") or []
        parts = [
            f"{e.get('field')}: {e.get('message')}" if e.get("field") else str(e.get("message"))
            for e in errors
        ]
    except (ValueError, AttributeError):
        parts = []
    return f"SendGrid {exc.status_code}: " + ("; ".join(parts) or str(exc.reason))


def _retry_after(exc: HTTPError) -> float | None:
    value = exc.headers.get("Retry-After") if exc.headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class SendGridAdapter:
    def __init__(self, settings: Settings, client: SendGridAPIClient | None = None) -> None:
        # python_http_client logs payloads and headers (addresses, the API key) at DEBUG.
        logging.getLogger("python_http_client").setLevel(logging.INFO)
        self.settings = settings
        self.client = client or SendGridAPIClient(
            api_key=resolve_api_key(settings), host=settings.sendgrid_host
        )
        self.client.client.timeout = settings.sendgrid_timeout_seconds

    def payload(self, message: OutgoingMessage) -> dict:
        s = self.settings
        custom_args = {CUSTOM_ARG_KEY: message.idempotency_key}
        if message.reference:
            custom_args[CUSTOM_ARG_REFERENCE] = message.reference
        body = {
            "personalizations": [{"to": [{"email": message.to}]}],
            "from": {"email": s.mail_from_email, "name": s.mail_from_name},
            "subject": message.subject,
            "content": [
                {"type": "text/plain", "value": message.text},
                {"type": "text/html", "value": message.html},
            ],
            "categories": list(dict.fromkeys(("madoguchi", message.kind, *message.categories)))[:10],
            "custom_args": custom_args,
            "mail_settings": {"sandbox_mode": {"enable": s.sendgrid_sandbox_mode}},
        }
        if s.mail_reply_to:
            body["reply_to"] = {"email": s.mail_reply_to}
        if message.marketing:
            if s.sendgrid_unsubscribe_group_id is None:
                raise PermanentSendError("marketing mail needs MADOGUCHI_SENDGRID_UNSUBSCRIBE_GROUP_ID")
            body["asm"] = {"group_id": s.sendgrid_unsubscribe_group_id}
        if message.unsubscribe_url:  # one-click unsubscribe in the mail client (RFC 8058)
            body["headers"] = {
                "List-Unsubscribe": f"<{message.unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        return body

    def send(self, message: OutgoingMessage) -> SendResult:
        try:
            response = self.client.send(self.payload(message))
        except HTTPError as exc:
            if exc.status_code != 429 and exc.status_code < 500:
                raise PermanentSendError(error_text(exc)) from None
            raise TransientSendError(error_text(exc), _retry_after(exc)) from None
        except URLError as exc:  # raised before a complete request left: nothing sent
            raise TransientSendError(f"connection failed: {type(exc.reason).__name__}") from None
        except (TimeoutError, http.client.HTTPException, ConnectionError) as exc:
            raise InDoubtSendError(f"no answer from SendGrid: {type(exc).__name__}") from None
        message_id = response.headers.get("X-Message-Id")
        if not message_id:
            raise InDoubtSendError(f"SendGrid {response.status_code} without X-Message-Id")
        return SendResult(provider_message_id=message_id)

    def find_sent(self, idempotency_key: str) -> SendResult | None:
        """Email Activity lookup by our ``custom_args`` key. Needs SendGrid's paid activity
        history and lags behind sends by seconds to minutes: the outbox asks only about
        claims older than ``mail_claim_timeout_seconds``."""
        query = f"unique_args['{CUSTOM_ARG_KEY}']=\"{idempotency_key}\""
        try:
            response = self.client.client.messages.get(query_params={"query": query, "limit": 1})
            found = json.loads(response.body or b"{}").get("messages") or []
        except (HTTPError, URLError, TimeoutError, http.client.HTTPException, ValueError) as exc:
            raise LookupUnavailable(type(exc).__name__) from None
        return SendResult(provider_message_id=found[0]["msg_id"].split(".")[0]) if found else None

    def suppress(self, group_id: int, email: str) -> None:
        """Add an address to an unsubscribe group; SendGrid treats repeats as no-ops."""
        try:
            self.client.client.asm.groups._(group_id).suppressions.post(
                request_body={"recipient_emails": [email]}
            )
        except HTTPError as exc:
            if exc.status_code == 429 or exc.status_code >= 500:
                raise TransientSendError(error_text(exc)) from None
            raise PermanentSendError(error_text(exc)) from None
        except (URLError, TimeoutError, http.client.HTTPException, ConnectionError) as exc:
            raise TransientSendError(type(exc).__name__) from None


class MailNotConfigured(RuntimeError):
    """No SendGrid key where real mail is expected."""


def email_port(settings: Settings):
    """SendGrid when a key is configured; the file outbox under the data folder only in a demo
    (autopilot), since elsewhere it would leave every requester without their mail."""
    if settings.sendgrid_api_key_block or settings.sendgrid_api_key:
        return SendGridAdapter(settings)
    if not settings.autopilot:
        raise MailNotConfigured(
            "no SendGrid API key: set MADOGUCHI_SENDGRID_API_KEY (or MADOGUCHI_SENDGRID_API_KEY_BLOCK, "
            "a Prefect Secret block); mail goes to the file outbox only in a demo (MADOGUCHI_AUTOPILOT=1), "
            "and `madoguchi up` without a key sends it to its SendGrid stub"
        )
    from mail.file_adapter import FileOutbox

    return FileOutbox(
        settings.mail_outbox_dir or settings.data_dir / "outbox",
        settings.mail_from_email,
        settings.mail_from_name,
    )

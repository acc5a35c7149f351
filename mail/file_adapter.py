"""The file outbox: the email port where no SendGrid is configured (development, demos
without the stub). Each message becomes ``<key>.eml`` plus ``<key>.json`` in one folder."""

import hashlib
import json
import uuid
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

from mail.port import OutgoingMessage, SendResult


class FileOutbox:
    def __init__(self, folder: Path, from_email: str, from_name: str = "") -> None:
        self.folder = folder
        self.from_header = formataddr((from_name, from_email)) if from_name else from_email

    def _stem(self, key: str) -> Path:
        # The key may hold ':' or '/', which are not safe in file names everywhere.
        return self.folder / hashlib.sha256(key.encode()).hexdigest()[:32]

    def send(self, message: OutgoingMessage) -> SendResult:
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = self._stem(message.idempotency_key)
        msg = EmailMessage()
        msg["From"] = self.from_header
        msg["To"] = message.to
        msg["Subject"] = message.subject
        msg["Message-ID"] = make_msgid(domain="madoguchi.local")
        msg.set_content(message.text)
        msg.add_alternative(message.html, subtype="html")
        message_id = f"file-{uuid.uuid4().hex}"
        meta = {
            "message_id": message_id,
            "idempotency_key": message.idempotency_key,
            "kind": message.kind,
            "language": message.language,
            "reference": message.reference,
            "marketing": message.marketing,
        }
        # Written to a temporary name and renamed: a crash leaves no half message behind.
        for suffix, data in ((".eml", bytes(msg)), (".json", json.dumps(meta).encode())):
            tmp = stem.with_suffix(suffix + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(stem.with_suffix(suffix))
        return SendResult(provider_message_id=message_id)

    def find_sent(self, idempotency_key: str) -> SendResult | None:
        meta = self._stem(idempotency_key).with_suffix(".json")
        if not meta.exists():
            return None
        return SendResult(provider_message_id=json.loads(meta.read_text())["message_id"])

    def text_of(self, idempotency_key: str) -> str | None:
        """The plain-text body of the message sent under this key, as its recipient reads it."""
        from email import policy
        from email.parser import BytesParser

        eml = self._stem(idempotency_key).with_suffix(".eml")
        if not eml.exists():
            return None
        body = BytesParser(policy=policy.default).parse(eml.open("rb")).get_body(preferencelist=("plain",))
        return body.get_content() if body else ""

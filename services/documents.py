"""Identity and authority documents uploaded by an agent (RULES.md §4): checked for size and
type, sealed with AES-GCM (the same sealing as disclosure packages) and stored under the data
folder, never under anything the web server serves. The upload that completes what the request
waits for (RULES.md §4: the agent's own identity document and their authority) starts the
clock again and hands the request to the operator's identity review."""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from disclosure.crypto import seal
from models.requests import Document
from models.rules.identity import DocumentKind
from models.rules.vocabulary import Status, WaitingFor
from models.settings import Settings
from services import clock, identity
from services.common import audit, load_request, move

MAX_BYTES = 10 * 1024 * 1024
KINDS = tuple(kind.value for kind in DocumentKind)
# Magic numbers, so a renamed executable is not taken for a scan because of its name.
SIGNATURES = {"application/pdf": (b"%PDF-",), "image/jpeg": (b"\xff\xd8\xff",),
              "image/png": (b"\x89PNG\r\n\x1a\n",)}


class DocumentRejected(ValueError):
    """Not accepted; ``field`` names the form field at fault (for a 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Received:
    document_id: int
    resumed: bool  # the request waited for documents, has them all now and goes on to review


def check(kind: str, content_type: str, data: bytes) -> str:
    """The content type the bytes really are; raises :class:`DocumentRejected`."""
    if kind not in KINDS:
        raise DocumentRejected("kind", f"kind must be one of {', '.join(KINDS)}")
    if not data:
        raise DocumentRejected("file", "the file is empty")
    if len(data) > MAX_BYTES:
        raise DocumentRejected("file", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    actual = next((t for t, magic in SIGNATURES.items() if data.startswith(magic)), None)
    if actual is None or (content_type not in ("", "application/octet-stream") and content_type != actual):
        raise DocumentRejected("file", "only PDF, JPEG or PNG files are accepted")
    return actual


def receive(session: Session, settings: Settings, reference: str, *, kind: str, content_type: str,
            data: bytes, now: datetime) -> Received:
    actual = check(kind, content_type, data)
    request = load_request(session, reference)
    if request.status.is_final:
        raise DocumentRejected("file", "this request has ended")
    folder = Path(settings.data_dir) / "documents" / reference
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.sealed"
    path.write_bytes(seal(settings, reference, data))
    document = Document(request_id=request.id, kind=kind, stored_path=str(path), content_type=actual,
                        size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), uploaded_at=now)
    session.add(document)
    session.flush()
    resumed = request.waiting_for == WaitingFor.DOCUMENTS and not identity.missing_documents(session, request)
    if resumed:
        clock.resume(session, request, now=now)
        move(session, settings, request, Status.IDENTITY_VERIFICATION, now=now, actor="requester")
    audit(session, settings, actor="requester", action="request.document.received", reference=reference,
          now=now, document_id=document.id, kind=kind, size_bytes=len(data))
    return Received(document.id, resumed)

"""Identity and authority documents uploaded by an agent, or posted by a principal and attached
by the help desk (docs/rules.md §4): checked for size and type, sealed with AES-GCM (the same
sealing as disclosure packages) and stored under the data folder, never under anything the web
server serves. The upload that completes what the request waits for (the agent's own identity
document and their authority; by post, the copy of the principal's) starts the clock again and
hands the request to the operator's identity review. An operator or the officer opens them
through the gate's viewer (web/documents_view.py), each opening audited; the files are purged
a set number of days after the request closes."""

import hashlib
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from disclosure.crypto import seal, unseal
from models.db import row_id
from models.requests import Document, Request
from models.rules.identity import DocumentKind, Route
from models.rules.vocabulary import Status, WaitingFor
from models.settings import Settings
from services import clock, identity
from services.common import audit, load_request, move

MAX_BYTES = 10 * 1024 * 1024
KINDS = tuple(kind.value for kind in DocumentKind)
# Magic numbers, so a renamed executable is not taken for a scan because of its name.
SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}


class DocumentRejected(ValueError):
    """Not accepted; ``field`` names the form field at fault (for a 422), ``reason`` what the
    requester's page says when the field alone would mislead (a file fine in itself, one too many)."""

    def __init__(self, field: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.field, self.reason = field, reason


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


def receive(
    session: Session,
    settings: Settings,
    reference: str,
    *,
    kind: str,
    content_type: str,
    data: bytes,
    now: datetime,
    actor: str = "requester",
) -> Received:
    """Store one document; ``actor`` is who gave it (the requester's upload, or the help desk's
    scan of what came by post)."""
    actual = check(kind, content_type, data)
    _lock(session, reference, now=now)
    request = load_request(session, reference)
    if request.status.is_final:
        raise DocumentRejected("file", "this request has ended")
    held = session.exec(select(func.count(col(Document.id))).where(Document.request_id == request.id)).one()
    if held >= settings.max_documents_per_request:
        raise DocumentRejected(
            "file", f"at most {settings.max_documents_per_request} files per request", reason="too_many"
        )
    folder = Path(settings.data_dir) / "documents" / reference
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.sealed"
    path.write_bytes(seal(settings, reference, data))
    document = Document(
        request_id=row_id(request),
        kind=kind,
        stored_path=str(path),
        content_type=actual,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_at=now,
    )
    session.add(document)
    session.flush()
    resumed = request.waiting_for in (
        WaitingFor.DOCUMENTS,
        WaitingFor.IDENTITY_DOCUMENT,
    ) and not identity.missing_documents(session, request)
    if resumed:
        clock.resume(session, settings, request, now=now)
        move(session, settings, request, Status.IDENTITY_VERIFICATION, now=now, actor=actor)
    audit(
        session,
        settings,
        actor=actor,
        action="request.document.received",
        reference=reference,
        now=now,
        document_id=document.id,
        kind=kind,
        size_bytes=len(data),
    )
    return Received(row_id(document), resumed)


def attach_identity_document(
    session: Session,
    settings: Settings,
    reference: str,
    *,
    content_type: str,
    data: bytes,
    actor: str,
    now: datetime,
) -> Received:
    """The copy of an identity document that came by post, scanned and attached by the help
    desk (``actor``, from their login) to a request checked by post (docs/rules.md §4)."""
    current = identity.current_check(session, load_request(session, reference))
    if current is not None and current.method != Route.POST:
        raise DocumentRejected("file", "this request's identity is not checked by post")
    return receive(
        session,
        settings,
        reference,
        kind=DocumentKind.IDENTITY_DOCUMENT,
        content_type=content_type,
        data=data,
        now=now,
        actor=actor,
    )


def _lock(session: Session, reference: str, *, now: datetime) -> None:
    """Write the request row first (SQLite's database lock, PostgreSQL's row lock), so that
    uploads arriving at once count the documents one after the other and none passes the cap."""
    session.execute(update(Request).where(col(Request.reference) == reference).values(updated_at=now))


def of_request(
    session: Session, settings: Settings, reference: str, *, actor: str, now: datetime
) -> list[Document]:
    """A request's documents, oldest first, for a person who judges them (audited)."""
    found = uploaded(session, row_id(load_request(session, reference)))
    audit(
        session,
        settings,
        actor=actor,
        action="request.documents.listed",
        reference=reference,
        now=now,
        documents=len(found),
    )
    return found


def uploaded(session: Session, request_id: int) -> list[Document]:
    """A request's documents, oldest first: what they are, never what they show."""
    return list(
        session.exec(select(Document).where(Document.request_id == request_id).order_by(col(Document.id)))
    )


def opened(
    session: Session, settings: Settings, document_id: int, *, actor: str, now: datetime
) -> tuple[Document, bytes] | None:
    """The document and its decrypted bytes (audited); None when there is no such document or
    its file was purged."""
    found = session.exec(
        select(Document, Request.reference)
        .join(Request, col(Request.id) == Document.request_id)
        .where(Document.id == document_id)
    ).first()
    if found is None or (stored := found[0].stored_path) is None:
        return None
    document, reference = found
    data = unseal(settings, reference, Path(stored).read_bytes())
    audit(
        session,
        settings,
        actor=actor,
        action="request.document.viewed",
        reference=reference,
        now=now,
        document_id=document.id,
    )
    return document, data


def purge(session: Session, settings: Settings, *, now: datetime) -> list[int]:
    """Delete the files of requests closed ``document_retention_days`` ago or more; the rows
    stay (kind, type, size, sha256) and say when. Run again, it finds nothing more to do; a run
    cut short after deleting a file marks it the next time."""
    cutoff = now - timedelta(days=settings.document_retention_days)
    due = session.exec(
        select(Document, Request.reference)
        .join(Request, col(Request.id) == Document.request_id)
        .where(col(Request.closed_at) <= cutoff, col(Document.purged_at).is_(None))
        .order_by(col(Document.id))
    ).all()
    for document, reference in due:
        if document.stored_path is not None:  # None only with purged_at, which is not selected
            path = Path(document.stored_path)
            path.unlink(missing_ok=True)
            with suppress(OSError):
                path.parent.rmdir()  # the request's folder, once its last file is gone
        document.stored_path, document.purged_at = None, now
        session.add(document)
        audit(
            session,
            settings,
            actor="system",
            action="request.document.purged",
            reference=reference,
            now=now,
            document_id=document.id,
        )
    return [row_id(document) for document, _ in due]

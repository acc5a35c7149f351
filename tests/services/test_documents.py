"""Agents' documents (issue 12 §4): at most N a request, also when uploads arrive at once (on
SQLite and PostgreSQL), and their files purged a set number of days after the request closed."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from disclosure.crypto import unseal
from models.audit import AuditEvent
from models.db import unit_of_work
from models.requests import Document
from models.rules.vocabulary import Status
from models.schema import upgrade
from models.settings import Settings
from services import closing, documents
from tests.services.conftest import REVIEW_NOW as NOW
from tests.services.conftest import submit

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CAP = 3
UPLOADS = 10


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request, tmp_path) -> Settings:
    """A migrated app database on each backend, taking at most :data:`CAP` documents a request."""
    if request.param == "postgres":
        base = request.getfixturevalue("pg_settings")
        settings = Settings(
            data_dir=tmp_path,
            secret_key="test-secret",
            database_url=base.database_url,
            max_documents_per_request=CAP,
        )
    else:
        settings = Settings(data_dir=tmp_path, secret_key="test-secret", max_documents_per_request=CAP)
    upgrade(settings)
    return settings


def upload(settings: Settings, reference: str, data: bytes = PNG) -> int:
    with unit_of_work(settings) as session:  # a session each, as each API call has
        return documents.receive(
            session,
            settings,
            reference,
            kind="power_of_attorney",
            content_type="image/png",
            data=data,
            now=NOW,
        ).document_id


def held(settings: Settings) -> list[Document]:
    with unit_of_work(settings) as session:
        return list(session.exec(select(Document).order_by(Document.id)))


def test_one_document_past_the_cap_is_refused_on_the_file_field(desk):
    reference = submit(desk)
    for _ in range(CAP):
        upload(desk, reference)
    with pytest.raises(documents.DocumentRejected) as refused:
        upload(desk, reference)
    assert refused.value.field == "file" and str(CAP) in str(refused.value)
    assert len(held(desk)) == CAP
    assert len(list((Path(desk.data_dir) / "documents" / reference).iterdir())) == CAP  # no file written
    upload(desk, submit(desk))  # another request has its own count


def test_uploads_arriving_at_once_do_not_pass_the_cap(desk):
    reference = submit(desk)
    start = threading.Barrier(UPLOADS)

    def one(_) -> str:
        start.wait()
        try:
            upload(desk, reference)
            return "taken"
        except documents.DocumentRejected:
            return "refused"

    with ThreadPoolExecutor(UPLOADS) as pool:
        answers = Counter(pool.map(one, range(UPLOADS)))
    assert answers == {"taken": CAP, "refused": UPLOADS - CAP}
    assert len(held(desk)) == CAP


def test_files_are_purged_after_the_retention_and_only_then(desk):
    closed, still_open = submit(desk), submit(desk)
    first, second, kept = (
        upload(desk, closed, PNG + b"1"),
        upload(desk, closed, PNG + b"2"),
        upload(desk, still_open),
    )
    with unit_of_work(desk) as session:
        closing.close(session, desk, closed, status=Status.WITHDRAWN, outcome=None, reasons=[], now=NOW)
    paths = {d.id: Path(d.stored_path) for d in held(desk)}
    retention = timedelta(days=desk.document_retention_days)

    with unit_of_work(desk) as session:  # a day early: nothing yet
        assert documents.purge(session, desk, now=NOW + retention - timedelta(days=1)) == []
    assert all(p.exists() for p in paths.values())

    later = NOW + retention + timedelta(minutes=1)
    with unit_of_work(desk) as session:
        assert documents.purge(session, desk, now=later) == [first, second]
    assert not paths[first].exists() and not paths[second].exists() and not paths[first].parent.exists()
    assert unseal(desk, still_open, paths[kept].read_bytes()) == PNG  # the open request's file stays
    rows = {d.id: d for d in held(desk)}
    assert (rows[first].stored_path, rows[first].purged_at) == (None, later)
    assert rows[first].sha256 and rows[first].size_bytes == len(PNG) + 1  # what the audit needs stays
    assert (rows[kept].stored_path, rows[kept].purged_at) == (str(paths[kept]), None)

    with unit_of_work(desk) as session:  # a second run changes nothing
        assert documents.purge(session, desk, now=later + timedelta(days=1)) == []
        purged = session.exec(
            select(AuditEvent).where(AuditEvent.action == "request.document.purged").order_by(AuditEvent.seq)
        ).all()
        assert [(e.actor, e.subject_ref, e.details) for e in purged] == [
            ("system", closed, {"document_id": first}),
            ("system", closed, {"document_id": second}),
        ]
    assert held(desk)[0].purged_at == later
    with unit_of_work(desk) as session:  # a purged file is no longer shown
        assert documents.opened(session, desk, first, actor="operator:sato", now=later) is None

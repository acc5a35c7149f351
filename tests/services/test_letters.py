"""Letters the help desk prints and posts (services/letters.py), on both databases: one letter
per key however often it is written, made with the name and address read at printing, the
acknowledgement with the status token, kept sealed until the letter is marked sent (once),
each step audited with the person."""

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from sqlmodel import select

from models.audit import AuditEvent
from models.db import unit_of_work
from models.letters import Letter
from models.requests import RequestCreate
from models.rules.entry import Acknowledgement, Channel
from models.schema import upgrade
from services import intake, letters
from services.common import load_request
from tests.services.conftest import PRINCIPAL

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
BODY = {
    "request_type": "erasure",
    "principal": PRINCIPAL,
    "details": {"postal_address": "〒150-0001 東京都渋谷区"},
}


def _desk(settings) -> intake.Submitted:
    upgrade(settings)
    with unit_of_work(settings) as session:
        return intake.enter(
            session,
            settings,
            RequestCreate.model_validate(BODY),
            channel=Channel.COUNTER,
            received_on=NOW.date(),
            acknowledgement=Acknowledgement.LETTER,
            actor="operator:sato",
            now=NOW,
        )


def _text(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def _letter_once_printed_and_sent_once(settings):
    done = _desk(settings)
    reference, token = done.reference, done.status_token
    with unit_of_work(settings) as session:  # written again (a retry): the same letter
        again = letters.write(
            session,
            settings,
            load_request(session, reference),
            "acknowledgement",
            {
                "reference": reference,
                "request_type": "erasure",
                "received_at": "2026-12-07",
                "due_date": "2026-12-21",
            },
            now=NOW,
        )
        (letter,) = session.exec(select(Letter)).all()
        assert again.id == letter.id and letter.context["due_date"] == "2026-12-21"
        assert letters.SEALED["status_token"] in letter.context and token not in str(letter.context)
    with unit_of_work(settings) as session:
        made = letters.printed(session, settings, letter.id, actor="operator:sato", now=NOW)
        assert letters.printed(session, settings, letter.id + 1, actor="operator:sato", now=NOW) is None
    assert made.filename == f"{reference}-acknowledgement.pdf" and made.data.startswith(b"%PDF")
    assert token in _text(made.data).replace("\n", "")  # the requester learns it from the letter
    with unit_of_work(settings) as session:
        assert letters.mark_sent(session, settings, letter.id, actor="officer:yamada", now=NOW) is True
    with unit_of_work(settings) as session:
        assert letters.mark_sent(session, settings, letter.id, actor="operator:sato", now=NOW) is False
        assert letters.to_print(session) == []
        assert session.get(Letter, letter.id).sent_by == "officer:yamada"
        posted = session.get(Letter, letter.id).context
        assert letters.SEALED["status_token"] not in posted  # posted: forgotten
        reprinted = letters.printed(session, settings, letter.id, actor="operator:sato", now=NOW)
        trail = [
            (e.actor, e.action)
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.subject_ref == reference).order_by(AuditEvent.seq)
            )
        ]
    assert token not in _text(reprinted.data).replace("\n", "") and reference in _text(reprinted.data)
    assert trail == [
        ("requester:counter", "request.received"),
        ("operator:sato", "request.entered"),
        ("operator:sato", "letter.printed"),
        ("officer:yamada", "letter.sent"),
        ("operator:sato", "letter.printed"),
    ]


def test_a_letter_once_printed_and_sent_once(settings):
    _letter_once_printed_and_sent_once(settings)


@pytest.mark.postgres
def test_a_letter_once_printed_and_sent_once_on_postgresql(pg_settings):
    _letter_once_printed_and_sent_once(pg_settings)

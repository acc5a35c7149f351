"""Email or letter, decided once (services/notices.py): a request the help desk acknowledged by
letter is answered by letter (the one-time code excepted), a decision whose data goes by post
is a letter for anyone, everything else an email; each written once under the email's key,
and the letter's secrets sealed until it is posted. Which letters a run waits for."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlmodel import col, select

from models.db import unit_of_work
from models.fulfilment import Notice
from models.letters import Letter
from models.requests import RequestCreate
from models.rules.deadlines import jst_date
from models.rules.entry import Acknowledgement, Channel
from models.rules.vocabulary import WaitingFor
from models.schema import upgrade
from services import clock, intake, letters, notices
from services.common import load_request
from tests.mail.conftest import CONTEXTS
from tests.services.conftest import PRINCIPAL

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
ADDRESS = "〒150-0001 東京都渋谷区神宮前1-2-3"


def _request(settings, *, letter: bool = False, delivery: str = "electronic") -> str:
    upgrade(settings)
    body = RequestCreate.model_validate(
        {
            "request_type": "disclosure",
            "principal": PRINCIPAL,
            "details": {"delivery": delivery, "postal_address": ADDRESS},
        }
    )
    with unit_of_work(settings) as session:
        if not letter:
            return intake.submit(session, settings, body, now=NOW).reference
        return intake.enter(
            session,
            settings,
            body,
            channel=Channel.POST,
            received_on=NOW.date(),
            acknowledgement=Acknowledgement.LETTER,
            actor="operator:sato",
            now=NOW,
        ).reference


def _send(settings, reference: str, kind: str, **context) -> tuple[list[str], list[str]]:
    """Send ``kind`` (twice: a retry), then the request's (email kinds, letter kinds)."""
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        for _ in range(2):
            notices.send(
                session,
                settings,
                request,
                kind,
                {**CONTEXTS[kind], "reference": reference, **context},
                key=f"{reference}:{kind}",
                now=NOW,
            )
        emails = session.exec(select(Notice.kind).where(Notice.request_id == request.id)).all()
        posted = session.exec(select(Letter.kind).where(Letter.request_id == request.id)).all()
    return list(emails), list(posted)


@pytest.mark.parametrize("kind", ["documents_needed", "clarification_request", "fee_request", "decision"])
def test_a_request_acknowledged_by_letter_is_answered_by_letter(settings, kind):
    reference = _request(settings, letter=True)
    assert _send(settings, reference, kind) == ([], ["acknowledgement", kind])


def test_the_one_time_code_is_only_ever_an_email(settings):
    reference = _request(settings, letter=True)
    assert _send(settings, reference, "one_time_code") == (["one_time_code"], ["acknowledgement"])


@pytest.mark.parametrize("kind", ["clarification_request", "fee_request", "decision"])
def test_a_web_request_is_answered_by_email(settings, kind):
    reference = _request(settings)
    assert _send(settings, reference, kind) == (["acknowledgement", kind], [])


def test_a_decision_whose_data_goes_by_post_is_a_letter_the_fee_still_an_email(settings):
    reference = _request(settings, delivery="postal")
    assert _send(settings, reference, "fee_request") == (["acknowledgement", "fee_request"], [])
    assert _send(settings, reference, "decision", package_posted=True) == (
        ["acknowledgement", "fee_request"],
        ["decision"],
    )


def test_a_download_link_in_a_letter_is_sealed_until_posted(settings):
    reference = _request(settings, letter=True)
    link = f"https://madoguchi.example.jp/packages/{reference}?token=secret-token-123"
    _send(settings, reference, "decision", package_url=link, package_expires_at="2026-12-21")
    with unit_of_work(settings) as session:
        letter = session.exec(select(Letter).where(Letter.kind == "decision")).one()
        assert "secret-token-123" not in str(letter.context)
        made = letters.printed(session, settings, letter.id, actor="operator:sato", now=NOW)
        letters.mark_sent(session, settings, letter.id, actor="operator:sato", now=NOW)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(made.data)).pages)
    assert "secret-token-123" in "".join(text.split())  # the reader gets it on paper
    with unit_of_work(settings) as session:
        assert not any(key.startswith("sealed_") for key in session.get(Letter, letter.id).context)


def test_a_run_waits_for_the_letters_that_ask_or_end_not_the_registered_identity_result(settings):
    reference = _request(settings, letter=True)
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        letters.write(
            session, settings, request, "identity_confirmed", {**CONTEXTS["identity_confirmed"]}, now=NOW
        )
        (acknowledgement,) = session.exec(
            select(Letter.id).where(Letter.kind == "acknowledgement").order_by(col(Letter.id))
        ).all()
    assert notices.letter_to_post(settings, reference) == acknowledgement
    with unit_of_work(settings) as session:
        letters.mark_sent(session, settings, acknowledgement, actor="operator:sato", now=NOW)
    assert notices.letter_to_post(settings, reference) is None  # identity_confirmed is not waited for


def test_a_due_date_moved_later_is_told_by_letter_to_a_request_answered_on_paper(settings):
    reference = _request(settings, letter=True)
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        clock.pause(session, settings, request, WaitingFor.PAYMENT, now=NOW)
        clock.resume(session, settings, request, now=NOW + timedelta(days=3))
        due = jst_date(request.due_at).isoformat()
        (letter,) = session.exec(select(Letter).where(Letter.kind == "extension")).all()
        assert session.exec(select(Notice).where(Notice.kind == "extension")).all() == []
    assert (letter.idempotency_key, letter.context["due_date"]) == (
        f"{reference}:extension:{due}:letter",
        due,
    )
    with unit_of_work(settings) as session:
        (acknowledgement,) = session.exec(select(Letter.id).where(Letter.kind == "acknowledgement")).all()
        letters.mark_sent(session, settings, acknowledgement, actor="operator:sato", now=NOW)
    assert notices.letter_to_post(settings, reference) is None  # told, not waited for

"""The keys of the requester's waits: a repeated wait gets a new key, and a paused key is
stale once the request has moved past it (operator waits never are)."""

from collections import Counter
from datetime import UTC, datetime

import pytest

from models.db import unit_of_work
from models.requests import IdentityCheck, RequestCreate
from models.rules.vocabulary import WaitingFor
from services import intake
from services.common import load_request, principal_of
from services.requester_waits import again, stale

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def test_a_key_waited_on_again_in_the_same_run_gets_a_suffix():
    seen = Counter()
    assert [again("identity-1-0", seen) for _ in range(3)] == [
        "identity-1-0",
        "identity-1-0-again-1",
        "identity-1-0-again-2",
    ]
    assert again("identity-1-1", seen) == "identity-1-1"


@pytest.fixture
def request_ref(settings):
    from models.schema import upgrade

    upgrade(settings)
    body = {
        "request_type": "disclosure",
        "principal": {"name": "山田 太郎", "email": "taro@example.co.jp", "phone": "03-1234-5678"},
    }
    with unit_of_work(settings) as session:
        return intake.submit(session, settings, RequestCreate.model_validate(body), now=NOW).reference


@pytest.mark.parametrize("key", ["identity-1-0", "identity-1-0-again-2", "documents-1", "clarification-0"])
def test_a_requester_wait_is_stale_once_the_request_no_longer_waits_for_it(settings, request_ref, key):
    with unit_of_work(settings) as session:
        assert load_request(session, request_ref).waiting_for is None
        assert stale(session, request_ref, key)


def test_a_clarification_wait_on_the_current_question_is_not_stale(settings, request_ref):
    with unit_of_work(settings) as session:
        request = load_request(session, request_ref)
        request.waiting_for = WaitingFor.CLARIFICATION
        session.add(request)
    with unit_of_work(settings) as session:
        assert not stale(session, request_ref, "clarification-0")
        assert not stale(session, request_ref, "clarification-0-again-1")
        assert stale(session, request_ref, "clarification-1")  # a question never asked


def test_a_documents_wait_is_stale_once_the_request_no_longer_waits_for_documents(settings, request_ref):
    with unit_of_work(settings) as session:
        request = load_request(session, request_ref)
        check = IdentityCheck(
            request_id=request.id, party_id=principal_of(session, request).id, method="documents"
        )
        session.add(check)
        request.waiting_for = WaitingFor.DOCUMENTS
        session.add(request)
        session.flush()
        key = f"documents-{check.id}"
    with unit_of_work(settings) as session:
        assert not stale(session, request_ref, key) and not stale(session, request_ref, f"{key}-again-1")
        assert stale(session, request_ref, "identity-0-0")  # a code's wait, while documents are awaited
        request = load_request(session, request_ref)
        request.waiting_for = None
        session.add(request)
    with unit_of_work(settings) as session:
        assert stale(session, request_ref, key)


@pytest.mark.parametrize("key", ["review-0-0-0", "payment", "identity-review-3", "approval-0"])
def test_operator_waits_are_never_stale(settings, request_ref, key):
    with unit_of_work(settings) as session:
        assert not stale(session, request_ref, key)


def test_a_run_of_a_request_this_database_does_not_know_is_left_alone(settings, request_ref):
    with unit_of_work(settings) as session:
        assert not stale(session, "R-000000-NOSUCH", "identity-1-0")


def test_a_letter_wait_is_stale_once_the_help_desk_posted_it(settings, request_ref):
    """A wake lost after 郵送済み: the monitor finds the run still waiting on the posted letter."""
    from services import letters

    with unit_of_work(settings) as session:
        request = load_request(session, request_ref)
        context = {"reference": request_ref, "question": "どの注文ですか", "deadline": "2026-12-10"}
        letter = letters.write(
            session, settings, request, "clarification_request", {**context, "answer_url": "-"}, now=NOW
        )
        key = f"letter-{letter.id}"
        assert not stale(session, request_ref, key) and not stale(session, request_ref, f"{key}-again-1")
        letters.mark_sent(session, settings, letter.id, actor="operator:sato", now=NOW)
        assert stale(session, request_ref, key) and stale(session, request_ref, f"{key}-again-1")
        assert not stale(session, request_ref, f"letter-{letter.id + 1}")  # no such letter

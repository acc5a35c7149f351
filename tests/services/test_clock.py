"""The decision clock: paused while the requester acts, the due date moved by the wait, and
the requester told the new date once it moves to a later day."""

from datetime import timedelta

from sqlmodel import select

from models.db import unit_of_work
from models.fulfilment import Notice
from models.rules.deadlines import jst_date
from models.rules.vocabulary import WaitingFor
from services import clock
from services.common import load_request
from tests.services.conftest import REVIEW_NOW, create_review_request


def _extensions(settings) -> list[Notice]:
    with unit_of_work(settings) as session:
        return list(session.exec(select(Notice).where(Notice.kind == "extension")))


def _wait(settings, reference, days: float, *, notify: bool = True):
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        clock.pause(session, settings, request, WaitingFor.PAYMENT, now=REVIEW_NOW)
        before = request.due_at
        clock.resume(session, settings, request, now=REVIEW_NOW + timedelta(days=days), notify=notify)
        return before, request.due_at


def test_a_wait_of_days_moves_the_due_date_and_tells_the_requester_once(review_desk):
    settings, registry, _ = review_desk
    reference = create_review_request(settings, registry, "disclosure")
    with unit_of_work(settings) as session:
        load_request(session, reference).due_at = REVIEW_NOW + timedelta(days=14)
    before, after = _wait(settings, reference, 3)
    assert jst_date(after) > jst_date(before)
    [notice] = _extensions(settings)
    assert notice.context == {"reference": reference, "due_date": jst_date(after).isoformat()}
    assert notice.idempotency_key == f"{reference}:extension:{jst_date(after).isoformat()}"
    with unit_of_work(settings) as session:  # the same resume again: nothing new
        clock.resume(session, settings, load_request(session, reference), now=REVIEW_NOW + timedelta(days=3))
    assert len(_extensions(settings)) == 1


def test_a_short_wait_or_a_closing_request_sends_no_extension(review_desk):
    settings, registry, _ = review_desk
    short = create_review_request(settings, registry, "disclosure")
    closing = create_review_request(settings, registry, "disclosure")
    for reference in (short, closing):
        with unit_of_work(settings) as session:
            load_request(session, reference).due_at = REVIEW_NOW + timedelta(days=14)
    _wait(settings, short, 0.0001)
    _wait(settings, closing, 5, notify=False)
    assert _extensions(settings) == []

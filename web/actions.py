"""What a requester can do to their request, shared by the JSON API and the HTML pages.

Each action checks the status token, commits, and says whether the request's waiting flow
run should be woken; the caller wakes it after answering (see :func:`wake_run`)."""

import logging
from dataclasses import dataclass

from models.db import unit_of_work, utcnow
from models.rules.one_time_code import Verdict
from models.rules.vocabulary import FINAL_STATUSES
from models.settings import Settings
from services import clarification, documents, identity
from services.common import RequestNotFound, load_request
from services.status import authorised, public_view

log = logging.getLogger("madoguchi.intake")


class NotFound(Exception):
    """Unknown reference or wrong token: one answer for both."""


@dataclass(frozen=True)
class Done:
    result: str
    wake: bool = False
    document_id: int | None = None


def _authorised(session, reference: str, token: str | None):
    if "\x00" in reference:  # names nothing; PostgreSQL would refuse the query
        raise NotFound
    try:
        return authorised(session, reference, token)
    except RequestNotFound:
        raise NotFound from None


def view(settings: Settings, reference: str, token: str | None, lang: str | None = None) -> dict:
    with unit_of_work(settings) as session:
        return public_view(session, _authorised(session, reference, token), lang)


def enter_code(settings: Settings, reference: str, token: str | None, code: str) -> Done:
    with unit_of_work(settings) as session:
        _authorised(session, reference, token)
        verdict = identity.submit_code(session, settings, reference, code, now=utcnow())
    return Done(str(verdict), wake=verdict in (Verdict.VERIFIED, Verdict.REFUSED))


def resend_code(settings: Settings, reference: str, token: str | None) -> Done:
    with unit_of_work(settings) as session:
        _authorised(session, reference, token)
        verdict = identity.resend_code(session, settings, reference, now=utcnow())
    return Done(str(verdict), wake=verdict is Verdict.ISSUED)


def upload(
    settings: Settings, reference: str, token: str | None, *, kind: str, content_type: str, data: bytes
) -> Done:
    """Raises :class:`services.documents.DocumentRejected` for a file we do not take."""
    with unit_of_work(settings) as session:
        _authorised(session, reference, token)
        received = documents.receive(
            session, settings, reference, kind=kind, content_type=content_type, data=data, now=utcnow()
        )
    return Done("received", wake=received.resumed, document_id=received.document_id)


def clarify(settings: Settings, reference: str, token: str | None, text: str) -> Done:
    with unit_of_work(settings) as session:
        _authorised(session, reference, token)
        answered = clarification.answer(session, settings, reference, text, now=utcnow())
    return Done("answered" if answered else "not_waiting", wake=answered)


def withdraw(settings: Settings, reference: str, token: str | None) -> Done:
    with unit_of_work(settings) as session:
        _authorised(session, reference, token)
        withdrawn = clarification.withdraw(session, settings, reference, now=utcnow())
    return Done("withdrawn" if withdrawn else "already_ended", wake=withdrawn)


def wake_run(settings: Settings, reference: str) -> None:
    """Resume the request's waiting run (end its wait, when the request ended: a withdrawal).
    Best effort: a run on its way to the wait is given a few seconds to get there; a run not
    started yet finds the new state when it starts."""
    from flows.waits import REQUESTER_WAKE_SETTLE_SECONDS, end_wait, wake

    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        run_id, ended = request.flow_run_id, request.status in FINAL_STATUSES
    try:
        if not (ended and end_wait(run_id)):
            wake(run_id, settle_seconds=REQUESTER_WAKE_SETTLE_SECONDS)
    except Exception as exc:  # noqa: BLE001 - Prefect down, or the run moved on: logged, not raised
        log.warning("could not wake the flow run of a request: %s", type(exc).__name__)

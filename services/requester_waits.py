"""The keys of the lifecycle's waits for the requester, and which of them went stale.

A run waits on a key derived from the request (``identity-<codes sent>-<attempts>``,
``documents-<identity check>``, ``identity-document-<identity check>``, ``clarification-<questions
asked>``); the requester's action
changes the request and the intake wakes the run. Woken with nothing changed (the Resume
button in Prefect's UI), it waits again on ``<key>-again-<n>``: Prefect answers a pause on a
key it has seen at once, so the same key again would spin. When that wake is lost (Prefect
down at that moment, the intake stopped before its background wake ran), the run would sleep
on a key that no longer matches the request: the SLA monitor finds such runs with
:func:`stale` and wakes them. A run also waits, as for the requester, on ``letter-<id>`` while
the help desk has not posted a letter (flows/lifecycle.letters_posted): stale once it has."""

import re
from collections import Counter

from sqlmodel import Session

from models.db import unit_of_work
from models.letters import Letter
from models.rules.identity import Route
from models.rules.vocabulary import WaitingFor
from models.settings import Settings
from services import clarification, identity
from services.common import RequestNotFound, load_request

_IDENTITY = re.compile(r"(identity-\d+-\d+|documents-\d+|identity-document-\d+)(?:-again-\d+)?")
_WAITS = {"documents": WaitingFor.DOCUMENTS, "identity-document": WaitingFor.IDENTITY_DOCUMENT}
_CLARIFICATION = re.compile(r"(clarification-\d+)(?:-again-\d+)?")
_LETTER = re.compile(r"letter-(\d+)(?:-again-\d+)?")


def identity_key(check) -> str:
    """A one-time code's wait changes key with every code and attempt; the agent's documents,
    or the copy of an identity document by post, are waited for until they are there."""
    if check.method == Route.DOCUMENTS:
        return f"documents-{check.id}"
    if check.method == Route.POST:
        return f"identity-document-{check.id}"
    return f"identity-{check.codes_issued}-{check.attempts}"


def clarification_key(asked: int) -> str:
    return f"clarification-{asked}"


def again(key: str, seen: Counter) -> str:
    """The key for this wait: ``key`` the first time in a run, then ``key-again-<n>``."""
    seen[key] += 1
    return key if seen[key] == 1 else f"{key}-again-{seen[key] - 1}"


def stale(session: Session, reference: str, pause_key: str) -> bool:
    """True when a run paused on ``pause_key`` waits for a requester action already taken
    (or for a request no longer waiting for the requester); operator waits, and runs of
    requests this database does not know, are never stale."""
    identity_wait, clarification_wait = _IDENTITY.fullmatch(pause_key), _CLARIFICATION.fullmatch(pause_key)
    letter_wait = _LETTER.fullmatch(pause_key)
    if not (identity_wait or clarification_wait or letter_wait):
        return False
    try:
        request = load_request(session, reference)
    except RequestNotFound:
        return False
    if letter_wait:
        letter = session.get(Letter, int(letter_wait[1]))
        return letter is not None and letter.request_id == request.id and letter.sent_at is not None
    if identity_wait:
        waits_for = _WAITS.get(identity_wait[1].rpartition("-")[0], WaitingFor.ONE_TIME_CODE)
        return request.waiting_for != waits_for or identity_wait[1] != identity_key(
            identity.current_check(session, request)
        )
    return clarification_wait is not None and (
        request.waiting_for != WaitingFor.CLARIFICATION
        or clarification_wait[1] != clarification_key(clarification.asked(request))
    )


def stale_waits(settings: Settings, paused: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(reference, run id) of the ``paused`` runs (run id, reference, pause key) that are
    :func:`stale`; asked of Prefect before, so no transaction is held across its calls."""
    with unit_of_work(settings) as session:
        return [(reference, run_id) for run_id, reference, key in paused if stale(session, reference, key)]

"""One-time codes under concurrency, on SQLite and on PostgreSQL: answers that arrive at once
each take one of the code's attempts in the database, or find none left (issue 12 §5)."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from models.db import unit_of_work
from models.rules.one_time_code import MAX_ATTEMPTS, Verdict
from models.settings import Settings
from services import identity
from services.common import load_request
from tests.services.conftest import REVIEW_NOW as NOW
from tests.services.conftest import notices, submit

ANSWERS = 20


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request, tmp_path) -> Settings:
    """The app database on each backend (the demo systems stay SQLite files)."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_settings")
    return Settings(data_dir=tmp_path, secret_key="test-secret")


def test_parallel_wrong_codes_take_exactly_the_codes_attempts(desk):
    settings, registry = desk
    reference = submit(settings)
    with unit_of_work(settings) as session:
        identity.start(session, settings, reference, registry=registry, now=NOW)
    [sent] = notices(settings, "one_time_code")
    code = sent.context["code"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    at = NOW + timedelta(minutes=1)
    start = threading.Barrier(ANSWERS)

    def answer(_) -> Verdict:
        start.wait()
        with unit_of_work(settings) as session:  # a session each, as each API call has
            return identity.submit_code(session, settings, reference, wrong, now=at)

    with ThreadPoolExecutor(ANSWERS) as pool:
        verdicts = Counter(pool.map(answer, range(ANSWERS)))

    assert verdicts == {Verdict.WRONG: MAX_ATTEMPTS - 1, Verdict.EXHAUSTED: ANSWERS - MAX_ATTEMPTS + 1}
    with unit_of_work(settings) as session:
        assert identity.current_check(session, load_request(session, reference)).attempts == MAX_ATTEMPTS
    with unit_of_work(settings) as session:
        assert identity.submit_code(session, settings, reference, code, now=at) is Verdict.EXHAUSTED
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        assert identity.state_of(session, request) is identity.IdentityState.PENDING
        assert identity.current_check(session, request).attempts == MAX_ATTEMPTS

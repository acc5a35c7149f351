"""The request's state machine (models/rules/states.py) against docs/contract.md's statuses and
the lifecycle of docs/product.md §1."""

import itertools
import re
from pathlib import Path

import pytest

from models.rules.states import (
    APPROVAL,
    CLARIFICATION,
    CLOSED,
    CODE,
    COMPLETED,
    DOCUMENTS,
    FULFILMENT,
    IDENTITY,
    PAYMENT,
    RECEIVED,
    REFUSED,
    REVIEW,
    TRANSITIONS,
    WITHDRAWN,
    allowed,
)
from models.rules.vocabulary import FINAL_STATUSES, Status, WaitingFor

CONTRACT = (Path(__file__).parents[2] / "docs" / "contract.md").read_text(encoding="utf-8")


def _status_table() -> dict[str, str]:
    section = CONTRACT.split("## Request statuses", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| (.+) \|$", section, re.MULTILINE))


def _reachable(start) -> set:
    seen, todo = {start}, [start]
    while todo:
        for after in TRANSITIONS[todo.pop()]:
            if after not in seen:
                seen.add(after)
                todo.append(after)
    return seen


def test_the_machine_has_every_status_of_the_contract_and_no_other():
    assert {str(status) for status, _ in TRANSITIONS} == set(_status_table()) == {str(s) for s in Status}


def test_a_request_waits_for_exactly_what_the_contract_names_and_only_while_awaiting_the_requester():
    named = set(re.findall(r"`(\w+)`", _status_table()["awaiting_requester"].split(";")[1]))
    waits = {waiting_for for status, waiting_for in TRANSITIONS if status is Status.AWAITING_REQUESTER}
    assert {str(w) for w in waits} == named - {"waiting_for"} == {str(w) for w in WaitingFor}
    assert all(
        waiting_for is None for status, waiting_for in TRANSITIONS if status is not Status.AWAITING_REQUESTER
    )


def test_nothing_moves_a_request_out_of_a_final_status():
    assert "are final: nothing moves a request out of them" in CONTRACT
    for status in FINAL_STATUSES:
        assert TRANSITIONS[(status, None)] == frozenset()
        assert not any(allowed((status, None), other) for other in TRANSITIONS if other != (status, None))


def test_every_open_state_can_be_withdrawn_and_every_state_is_reachable_from_received():
    assert all(
        WITHDRAWN in after for (status, _), after in TRANSITIONS.items() if status not in FINAL_STATUSES
    )
    assert _reachable(RECEIVED) == set(TRANSITIONS)


@pytest.mark.parametrize(
    "path",
    [
        # docs/product.md §1: intake → identity (code) → review → approval → fee → fulfilment → close
        [RECEIVED, IDENTITY, CODE, IDENTITY, REVIEW, APPROVAL, PAYMENT, FULFILMENT, COMPLETED],
        # an agent's documents, a clarification, a free request granted without a sign-off
        [RECEIVED, IDENTITY, DOCUMENTS, IDENTITY, REVIEW, CLARIFICATION, REVIEW, FULFILMENT, COMPLETED],
        # the officer sends a refusal back, the operator grants it after all
        [RECEIVED, IDENTITY, CODE, IDENTITY, REVIEW, APPROVAL, REVIEW, APPROVAL, FULFILMENT, COMPLETED],
        # refused on review, with the officer's sign-off; refused on identity
        [RECEIVED, IDENTITY, CODE, IDENTITY, REVIEW, APPROVAL, REFUSED],
        [RECEIVED, IDENTITY, REFUSED],
        [RECEIVED, IDENTITY, CODE, REFUSED],
        [RECEIVED, IDENTITY, DOCUMENTS, REFUSED],
        # the requester's silence: clarification, payment
        [RECEIVED, IDENTITY, CODE, IDENTITY, REVIEW, CLARIFICATION, CLOSED],
        [RECEIVED, IDENTITY, CODE, IDENTITY, REVIEW, PAYMENT, CLOSED],
    ],
)
def test_the_paths_of_the_product_are_allowed(path):
    assert all(allowed(before, after) for before, after in itertools.pairwise(path))


@pytest.mark.parametrize(
    "before, after",
    [
        (RECEIVED, REVIEW),  # identity is never skipped
        (CODE, REVIEW),
        (IDENTITY, FULFILMENT),
        (REVIEW, COMPLETED),  # nothing completes without fulfilment
        (PAYMENT, REVIEW),  # the decision is made before the fee is asked for
        (FULFILMENT, REFUSED),
        (CLOSED, FULFILMENT),  # a late payment does not reopen a closed request
        (COMPLETED, WITHDRAWN),
        (CLARIFICATION, REFUSED),
        ((Status.REVIEW, WaitingFor.PAYMENT), PAYMENT),  # waiting only while awaiting the requester
    ],
)
def test_steps_outside_the_lifecycle_are_refused(before, after):
    assert not allowed(before, after)

import pytest

from models.rules.decisions import (
    OPERATOR_ONLY_CODES,
    Item,
    allowed_item_codes,
    decision_problems,
    outcome_of,
    outcome_reasons,
)
from models.rules.decisions import (
    ItemAction as A,
)
from models.rules.reasons import reason_info
from models.rules.vocabulary import Outcome
from models.rules.vocabulary import ReasonCode as R
from models.rules.vocabulary import RequestType as T


def test_art36_a_refusal_needs_at_least_one_reason_code():
    assert decision_problems(T.DISCLOSURE, A.REFUSE, []) == [
        "'refuse' needs at least one reason code (Art. 36)"
    ]
    assert decision_problems(T.ERASURE, A.ALTERNATIVE, [])


def test_a_plain_grant_needs_no_reason_and_carries_none():
    assert decision_problems(T.DISCLOSURE, A.GRANT, []) == []
    assert decision_problems(T.DISCLOSURE, A.GRANT, [R.BUSINESS_INTERFERENCE])


@pytest.mark.parametrize("code", sorted(OPERATOR_ONLY_CODES))
def test_art33_2_operator_only_grounds_are_choosable_for_disclosure(code):
    assert code in allowed_item_codes(T.DISCLOSURE)
    assert decision_problems(T.DISCLOSURE, A.REFUSE, [code]) == []
    assert reason_info(code, "ja").basis


def test_art34_content_accurate_only_for_correction():
    assert decision_problems(T.CORRECTION, A.REFUSE, [R.CONTENT_ACCURATE]) == []
    assert decision_problems(T.DISCLOSURE, A.REFUSE, [R.CONTENT_ACCURATE]) == [
        "content_accurate does not fit a disclosure request"
    ]


def test_art34_1_other_law_procedure_fits_correction_and_disclosure():
    assert decision_problems(T.CORRECTION, A.REFUSE, ["other_law_procedure"]) == []
    assert decision_problems(T.DISCLOSURE, A.REFUSE, ["other_law_procedure"]) == []
    assert decision_problems(T.ERASURE, A.REFUSE, ["other_law_procedure"])


@pytest.mark.parametrize("request_type", [T.ERASURE, T.SUSPENSION])
def test_art35_2_legal_retention_duty_only_for_erasure_and_suspension(request_type):
    assert decision_problems(request_type, A.ALTERNATIVE, [R.LEGAL_RETENTION_DUTY]) == []
    for other in (T.DISCLOSURE, T.CORRECTION, T.STOP_THIRD_PARTY_PROVISION, T.PURPOSE_NOTIFICATION):
        assert decision_problems(other, A.REFUSE, [R.LEGAL_RETENTION_DUTY])


def test_art35_no_statutory_ground_for_art35_types_only():
    for request_type in (T.SUSPENSION, T.ERASURE, T.STOP_THIRD_PARTY_PROVISION):
        assert decision_problems(request_type, A.REFUSE, [R.NO_STATUTORY_GROUND]) == []
    assert decision_problems(T.DISCLOSURE, A.REFUSE, [R.NO_STATUTORY_GROUND])


def test_art35_alternative_measure_is_not_available_for_disclosure():
    assert "an alternative measure is not available for disclosure" in decision_problems(
        T.DISCLOSURE, A.ALTERNATIVE, [R.BUSINESS_INTERFERENCE]
    )
    assert decision_problems(T.STOP_THIRD_PARTY_PROVISION, A.ALTERNATIVE, [R.ALTERNATIVE_MEASURE]) == []


def test_art32_2_purpose_notification_refusal_grounds():
    assert decision_problems(T.PURPOSE_NOTIFICATION, A.REFUSE, [R.HARM_TO_LIFE_OR_PROPERTY]) == []
    assert decision_problems(T.PURPOSE_NOTIFICATION, A.REFUSE, [R.OTHER_LAW_VIOLATION])


def test_not_held_goes_with_no_retained_personal_data_alone():
    assert decision_problems(T.ERASURE, A.NOT_HELD, [R.NO_RETAINED_PERSONAL_DATA]) == []
    assert decision_problems(T.ERASURE, A.NOT_HELD, [R.NO_STATUTORY_GROUND])
    assert decision_problems(T.ERASURE, A.REFUSE, [R.NO_RETAINED_PERSONAL_DATA])


@pytest.mark.parametrize(
    "code",
    [
        R.IDENTITY_NOT_VERIFIED,
        R.AGENT_AUTHORITY_NOT_SHOWN,
        R.UNPAID_FEE,
        R.CLARIFICATION_NOT_RECEIVED,
        R.REQUEST_WITHDRAWN,
    ],
)
def test_request_level_codes_are_not_item_codes(code):
    assert decision_problems(T.DISCLOSURE, A.REFUSE, [code])


def test_duplicate_or_unknown_codes_are_problems():
    assert decision_problems(T.ERASURE, A.REFUSE, [R.NO_STATUTORY_GROUND, R.NO_STATUTORY_GROUND])
    assert decision_problems(T.ERASURE, A.REFUSE, ["because"])


def items(*actions):
    return [Item(f"s{n}", a, () if a is A.GRANT else (R.NO_STATUTORY_GROUND,)) for n, a in enumerate(actions)]


@pytest.mark.parametrize(
    ("actions", "outcome"),
    [
        ((A.GRANT, A.GRANT), Outcome.GRANTED),
        ((A.GRANT, A.NOT_HELD), Outcome.GRANTED),
        ((A.REFUSE, A.REFUSE, A.NOT_HELD), Outcome.REFUSED),
        ((A.GRANT, A.REFUSE), Outcome.PARTIALLY_GRANTED),
        ((A.GRANT, A.ALTERNATIVE), Outcome.PARTIALLY_GRANTED),
        ((A.ALTERNATIVE,), Outcome.PARTIALLY_GRANTED),
        ((A.NOT_HELD, A.NOT_HELD), Outcome.GRANTED),
    ],
)
def test_outcome_from_items(actions, outcome):
    assert outcome_of(items(*actions)) is outcome


def test_outcome_reasons_hide_not_held_beside_other_answers():
    mixed = [
        Item("a", A.GRANT),
        Item("b", A.NOT_HELD, (R.NO_RETAINED_PERSONAL_DATA,)),
        Item("c", A.ALTERNATIVE, (R.LEGAL_RETENTION_DUTY,)),
        Item("d", A.REFUSE, (R.NO_STATUTORY_GROUND,)),
        Item("e", A.REFUSE, (R.NO_STATUTORY_GROUND,)),
    ]
    assert outcome_reasons(mixed) == (R.LEGAL_RETENTION_DUTY, R.NO_STATUTORY_GROUND)
    assert outcome_reasons([Item("b", A.NOT_HELD, (R.NO_RETAINED_PERSONAL_DATA,))]) == (
        R.NO_RETAINED_PERSONAL_DATA,
    )


def test_art35_partial_compliance_stop_use_instead_of_erase_with_reasons():
    assert decision_problems(T.ERASURE, A.ALTERNATIVE, [R.ALTERNATIVE_MEASURE]) == []
    assert decision_problems(T.SUSPENSION, A.ALTERNATIVE, [R.ALTERNATIVE_MEASURE]) == []

from datetime import date

import pytest

from models.rules.contractors import (
    Blocker,
    Certificate,
    Clause,
    ContractorPolicy,
    ContractTerms,
    Questionnaire,
    Selection,
    applicable_categories,
    assess_contractor,
    missing_clauses,
    security_score,
    supervision_status,
)
from models.rules.contractors import (
    CertificationKind as K,
)
from models.rules.contractors import (
    SecurityCategory as C,
)

TODAY = date(2026, 11, 2)
POLICY = ContractorPolicy()


def answers(level, **overrides):
    values = dict.fromkeys(C, level)
    values.update({C(k): v for k, v in overrides.items()})
    return values


def q(level=3, **kw):
    return Questionnaire(answers=answers(level), **kw)


def test_gl10_every_security_category_is_scored():
    assert {c.value for c in C} == {
        "basic_policy",
        "handling_rules",
        "organisational",
        "human",
        "physical",
        "technical",
        "foreign_regime",
    }


def test_gl10_foreign_regime_only_counts_when_data_is_handled_abroad():
    assert C.FOREIGN_REGIME not in applicable_categories({"JP"})
    assert C.FOREIGN_REGIME in applicable_categories({"JP", "SG"})
    domestic = Questionnaire(answers=answers(3, foreign_regime=0))
    assert security_score(domestic, today=TODAY, policy=POLICY) == 80


def test_art25_full_marks_without_certification_is_approved():
    assessment = assess_contractor(q(3), today=TODAY)
    assert (assessment.selection, assessment.score, assessment.blockers) == (Selection.APPROVE, 80, ())


def test_art25_valid_isms_and_privacy_mark_add_points():
    certs = (Certificate(K.ISMS, date(2027, 6, 30)), Certificate(K.PRIVACY_MARK, date(2027, 3, 31)))
    assert assess_contractor(q(2, certificates=certs), today=TODAY).score == 53 + 20
    assert assess_contractor(q(3, certificates=certs), today=TODAY).score == 100


def test_art25_expired_certification_adds_nothing():
    certs = (Certificate(K.ISMS, date(2026, 11, 1)),)
    assert assess_contractor(q(2, certificates=certs), today=TODAY).score == 53


def test_art25_middling_score_is_conditional_and_low_score_rejected():
    assert assess_contractor(q(2), today=TODAY).selection is Selection.CONDITIONAL  # 53
    assert assess_contractor(q(1), today=TODAY).selection is Selection.REJECT  # 27


def test_art25_a_category_with_nothing_in_place_keeps_it_conditional():
    questionnaire = Questionnaire(
        answers=answers(3, physical=0), certificates=(Certificate(K.ISMS, date(2027, 1, 1)),)
    )
    assessment = assess_contractor(questionnaire, today=TODAY)
    assert assessment.score >= POLICY.approve_score
    assert (assessment.selection, assessment.weak_categories) == (Selection.CONDITIONAL, (C.PHYSICAL,))


@pytest.mark.parametrize(
    ("kw", "blocker"),
    [
        ({"accepts_breach_notice": False}, Blocker.NO_BREACH_NOTICE_DUTY),
        ({"storage_countries": frozenset({"JP", "US"})}, Blocker.UNAPPROVED_FOREIGN_STORAGE),
        ({"accepts_audit": False}, Blocker.REFUSES_AUDIT),
        ({"subcontracts_without_approval": True}, Blocker.SUBCONTRACTS_WITHOUT_APPROVAL),
        ({"returns_or_deletes_at_end": False}, Blocker.NO_RETURN_OR_DELETION),
    ],
)
def test_rules_7_hard_blockers_reject_whatever_the_score(kw, blocker):
    certs = (Certificate(K.ISMS, date(2027, 6, 30)), Certificate(K.PRIVACY_MARK, date(2027, 6, 30)))
    assessment = assess_contractor(q(3, certificates=certs, **kw), today=TODAY)
    assert assessment.selection is Selection.REJECT and assessment.blockers == (blocker,)


def test_art28_foreign_storage_in_an_approved_country_is_not_a_blocker():
    policy = ContractorPolicy(approved_countries=frozenset({"JP", "SG"}))
    assessment = assess_contractor(q(3, storage_countries=frozenset({"SG"})), today=TODAY, policy=policy)
    assert assessment.selection is Selection.APPROVE


FULL = ContractTerms(clauses=frozenset(Clause), breach_notice_days=3, stated_countries=frozenset({"JP"}))


def test_gl_3_4_4_complete_contract_misses_nothing():
    assert missing_clauses(FULL, {"JP"}) == ()


@pytest.mark.parametrize("clause", list(Clause))
def test_gl_3_4_4_each_clause_is_checked(clause):
    terms = ContractTerms(
        clauses=frozenset(Clause) - {clause}, breach_notice_days=3, stated_countries=frozenset({"JP"})
    )
    assert missing_clauses(terms, {"JP"}) == (clause,)


def test_rules_7_breach_notice_slower_than_five_days_is_missing():
    slow = ContractTerms(clauses=frozenset(Clause), breach_notice_days=7, stated_countries=frozenset({"JP"}))
    assert missing_clauses(slow, {"JP"}) == (Clause.BREACH_NOTICE,)
    five = ContractTerms(clauses=frozenset(Clause), breach_notice_days=5, stated_countries=frozenset({"JP"}))
    assert missing_clauses(five, {"JP"}) == ()


def test_art28_location_clause_must_cover_every_country_where_data_is_handled():
    assert missing_clauses(FULL, {"JP", "VN"}) == (Clause.DATA_LOCATION,)


def test_gl_3_4_4_annual_reassessment():
    status = supervision_status(date(2025, 11, 15), (), today=TODAY)
    assert (status.reassessment_due, status.reassessment_overdue) == (date(2026, 11, 15), False)
    assert supervision_status(date(2025, 10, 1), (), today=TODAY).reassessment_overdue
    assert supervision_status(date(2024, 2, 29), (), today=TODAY).reassessment_due == date(2025, 2, 28)


def test_certification_expiry_warning_and_expired():
    soon, later, gone = (
        Certificate(K.ISMS, date(2026, 12, 15)),
        Certificate(K.PRIVACY_MARK, date(2027, 6, 1)),
        Certificate(K.PRIVACY_MARK, date(2026, 10, 31)),
    )
    status = supervision_status(TODAY, (soon, later, gone), today=TODAY)
    assert status.expiring == (soon,) and status.expired == (gone,)

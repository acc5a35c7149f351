from datetime import date

import pytest

from models.rules.leaks import (
    LeakCase as C,
    LeakFacts,
    NoticeMethod,
    assess_leak,
    contractor_must_report,
    reportable_cases,
)

LEARNED = date(2026, 11, 2)  # Monday


def leak(**kw):
    kw.setdefault("affected_people", 10)
    return LeakFacts(learned_on=LEARNED, **kw)


@pytest.mark.parametrize(("kw", "case"), [
    ({"sensitive_data": True}, C.SENSITIVE_DATA),
    ({"financial_loss_risk": True}, C.FINANCIAL_LOSS),
    ({"wrongful_purpose": True}, C.WRONGFUL_PURPOSE),
    ({"web_skimming": True}, C.WRONGFUL_PURPOSE),
    ({"affected_people": 1001}, C.OVER_1000_PEOPLE),
])
def test_rules_art7_each_reportable_case(kw, case):
    assessment = assess_leak(leak(**kw))
    assert assessment.reportable and assessment.cases == (case,)
    assert assessment.grounds_erasure


def test_rules_art7_iv_exactly_1000_people_is_not_more_than_1000():
    assert reportable_cases(leak(affected_people=1000)) == ()


def test_rules_art7_small_ordinary_leak_is_not_reportable():
    assessment = assess_leak(leak())
    assert (assessment.reportable, assessment.deadlines, assessment.grounds_erasure) == (False, None, False)


def test_rules_art7_strongly_encrypted_data_is_exempt():
    assert not assess_leak(leak(sensitive_data=True, affected_people=50_000, strongly_encrypted=True)).reportable


def test_rules_art8_deadlines_preliminary_5_days_final_30():
    deadlines = assess_leak(leak(sensitive_data=True)).deadlines
    assert (deadlines.preliminary, deadlines.final) == (date(2026, 11, 6), date(2026, 12, 1))


def test_rules_art8_final_report_60_days_for_wrongful_purpose_incl_skimming():
    # day 60 is 31 December, in the closure: the next business day
    assert assess_leak(leak(web_skimming=True)).deadlines.final == date(2027, 1, 4)


def test_several_cases_at_once():
    assessment = assess_leak(leak(sensitive_data=True, wrongful_purpose=True, affected_people=5000))
    assert assessment.cases == (C.SENSITIVE_DATA, C.WRONGFUL_PURPOSE, C.OVER_1000_PEOPLE)


def test_art26_2_public_notice_when_people_cannot_be_reached():
    assert assess_leak(leak(financial_loss_risk=True)).notice is NoticeMethod.INDIVIDUAL
    assert assess_leak(leak(financial_loss_risk=True, people_reachable=False)).notice is NoticeMethod.PUBLIC_NOTICE


def test_art26_1_contractor_reports_unless_it_told_the_company_promptly():
    assert contractor_must_report(told_company_promptly=False)
    assert not contractor_must_report(told_company_promptly=True)

from datetime import date

import pytest

from models.rules.deadlines import SlaStage
from models.rules.leaks import (
    LeakCase as C,
)
from models.rules.leaks import (
    LeakFacts,
    NoticeMethod,
    Triage,
    assess_leak,
    confirm_triage,
    contractor_must_report,
    report_stage,
    reportable_cases,
    warn_on,
)

LEARNED = date(2026, 11, 2)  # Monday


def leak(**kw):
    kw.setdefault("affected_people", 10)
    return LeakFacts(learned_on=LEARNED, **kw)


@pytest.mark.parametrize(
    ("kw", "case"),
    [
        ({"sensitive_data": True}, C.SENSITIVE_DATA),
        ({"financial_loss_risk": True}, C.FINANCIAL_LOSS),
        ({"wrongful_purpose": True}, C.WRONGFUL_PURPOSE),
        ({"web_skimming": True}, C.WRONGFUL_PURPOSE),
        ({"affected_people": 1001}, C.OVER_1000_PEOPLE),
    ],
)
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
    assert not assess_leak(
        leak(sensitive_data=True, affected_people=50_000, strongly_encrypted=True)
    ).reportable


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
    assert (
        assess_leak(leak(financial_loss_risk=True, people_reachable=False)).notice
        is NoticeMethod.PUBLIC_NOTICE
    )


def test_art26_1_contractor_reports_unless_it_told_the_company_promptly():
    assert contractor_must_report(told_company_promptly=False)
    assert not contractor_must_report(told_company_promptly=True)


# --- the officer's confirmation, and the report clocks on the monitor ----------------------------


def test_officer_confirms_a_reportable_triage_unchanged():
    facts = leak(financial_loss_risk=True)
    assert confirm_triage(facts, Triage.REPORTABLE) == assess_leak(facts)


def test_officer_finds_a_wrongful_purpose_the_report_gets_60_days():
    confirmed = confirm_triage(leak(financial_loss_risk=True), Triage.REPORTABLE_WRONGFUL)
    assert C.WRONGFUL_PURPOSE in confirmed.cases
    assert confirmed.deadlines.final == date(2027, 1, 4)  # day 60 is 31 December: after the closure


def test_officer_rules_out_the_wrongful_purpose_the_report_gets_30_days():
    confirmed = confirm_triage(leak(wrongful_purpose=True), Triage.REPORTABLE)
    assert (confirmed.reportable, confirmed.cases, confirmed.deadlines.final) == (True, (), date(2026, 12, 1))


def test_officer_overrules_the_encryption_exemption_key_compromised():
    facts = leak(sensitive_data=True, strongly_encrypted=True)
    assert not assess_leak(facts).reportable
    assert confirm_triage(facts, Triage.REPORTABLE).cases == (C.SENSITIVE_DATA,)


def test_officer_finds_a_reportable_triage_not_reportable():
    confirmed = confirm_triage(leak(affected_people=5000), Triage.NOT_REPORTABLE)
    assert (confirmed.reportable, confirmed.deadlines, confirmed.grounds_erasure) == (False, None, False)


def test_warning_two_business_days_before_a_deadline_skips_the_new_year_closure():
    assert warn_on(date(2026, 11, 6)) == date(2026, 11, 4)
    # learned 27 December: preliminary due Monday 4 January; warned on 25 December (Friday)
    due = assess_leak(LeakFacts(date(2026, 12, 27), 10, sensitive_data=True)).deadlines.preliminary
    assert (due, warn_on(due)) == (date(2027, 1, 4), date(2026, 12, 25))
    # final due 7 May 2026 (after Golden Week): the business days before are 1 May and 30 April
    assert warn_on(date(2026, 5, 7)) == date(2026, 4, 30)


@pytest.mark.parametrize(
    ("today", "stage"),
    [
        (date(2026, 11, 3), SlaStage.ON_TRACK),
        (date(2026, 11, 4), SlaStage.WARNING),
        (date(2026, 11, 6), SlaStage.OVERDUE),
        (date(2026, 11, 9), SlaStage.OVERDUE),
    ],
)
def test_report_stage_warns_before_and_escalates_at_the_deadline(today, stage):
    assert report_stage(date(2026, 11, 6), None, today) is stage


def test_a_filed_report_is_on_track():
    assert report_stage(date(2026, 11, 6), date(2026, 11, 5), date(2026, 11, 9)) is SlaStage.ON_TRACK

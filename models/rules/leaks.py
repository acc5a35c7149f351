"""Leaks, loss and damage (Art. 26; PPC Rules Arts. 7–10; docs/rules.md §6).

A reportable case, actual or suspected, must be reported to the PPC (preliminary and final)
and told to the people affected; it also gives each of them a ground for suspension or
erasure (Art. 35(5)).
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from models.rules.deadlines import LeakDeadlines, SlaStage, business_day_on_or_before, leak_report_deadlines

PEOPLE_THRESHOLD = 1_000
WARN_BUSINESS_DAYS = 2  # before a report deadline, the privacy officer is warned


class LeakCase(StrEnum):
    """Rules Art. 7 items."""

    SENSITIVE_DATA = "sensitive_data"  # (i) 要配慮個人情報
    FINANCIAL_LOSS = "financial_loss"  # (ii) e.g. card numbers, bank log-ins
    WRONGFUL_PURPOSE = "wrongful_purpose"  # (iii) attack, insider theft, ransomware, skimming
    OVER_1000_PEOPLE = "over_1000_people"  # (iv)


class Triage(StrEnum):
    """The privacy officer's confirmation or correction of the rules' triage."""

    REPORTABLE = "reportable"
    REPORTABLE_WRONGFUL = "reportable_wrongful"  # reportable, with a wrongful purpose (60 days)
    NOT_REPORTABLE = "not_reportable"


# The PPC's names of the two reports (Rules Art. 8): the work queue, the drafts and the forms
REPORT_NAMES = {"preliminary": "速報", "final": "確報"}


class NoticeMethod(StrEnum):
    INDIVIDUAL = "individual"
    PUBLIC_NOTICE = "public_notice"  # Art. 26(2) proviso: when the people cannot be reached


@dataclass(frozen=True)
class LeakFacts:
    learned_on: date  # when any part of the company learned of it (JST day)
    affected_people: int
    sensitive_data: bool = False
    financial_loss_risk: bool = False
    wrongful_purpose: bool = False  # attack, insider theft, ransomware, theft
    # since April 2024: data being collected for the company, e.g. a skimmed web form
    web_skimming: bool = False
    strongly_encrypted: bool = False  # high-level encryption, key not compromised
    people_reachable: bool = True


@dataclass(frozen=True)
class LeakAssessment:
    reportable: bool
    cases: tuple[LeakCase, ...]
    deadlines: LeakDeadlines | None
    notice: NoticeMethod | None  # how the affected people are told
    grounds_erasure: bool  # Art. 35(5) ground for each affected person


def reportable_cases(facts: LeakFacts) -> tuple[LeakCase, ...]:
    """The Rules Art. 7 cases that apply; none when the data was strongly encrypted."""
    if facts.strongly_encrypted:
        return ()
    flags = {
        LeakCase.SENSITIVE_DATA: facts.sensitive_data,
        LeakCase.FINANCIAL_LOSS: facts.financial_loss_risk,
        LeakCase.WRONGFUL_PURPOSE: facts.wrongful_purpose or facts.web_skimming,
        LeakCase.OVER_1000_PEOPLE: facts.affected_people > PEOPLE_THRESHOLD,
    }
    return tuple(case for case, applies in flags.items() if applies)


def assess_leak(facts: LeakFacts) -> LeakAssessment:
    cases = reportable_cases(facts)
    if not cases:
        return LeakAssessment(False, (), None, None, False)
    return LeakAssessment(
        reportable=True,
        cases=cases,
        deadlines=leak_report_deadlines(
            facts.learned_on, wrongful_purpose=LeakCase.WRONGFUL_PURPOSE in cases
        ),
        notice=NoticeMethod.INDIVIDUAL if facts.people_reachable else NoticeMethod.PUBLIC_NOTICE,
        grounds_erasure=True,
    )


def confirm_triage(facts: LeakFacts, triage: Triage) -> LeakAssessment:
    """The assessment the officer settles on: a wrongful purpose found or ruled out changes the
    final deadline; a case the rules did not see (a suspicion) is still reportable."""
    wrongful = triage is Triage.REPORTABLE_WRONGFUL
    if triage is Triage.NOT_REPORTABLE:
        return LeakAssessment(False, (), None, None, False)
    facts = replace(facts, wrongful_purpose=wrongful, web_skimming=False, strongly_encrypted=False)
    assessment = assess_leak(facts)
    if assessment.reportable:
        return assessment
    return LeakAssessment(
        reportable=True,
        cases=(),
        deadlines=leak_report_deadlines(facts.learned_on, wrongful_purpose=False),
        notice=NoticeMethod.INDIVIDUAL if facts.people_reachable else NoticeMethod.PUBLIC_NOTICE,
        grounds_erasure=True,
    )


def warn_on(due: date) -> date:
    """Two business days before a report deadline, so a warning never falls in the closure."""
    day = due
    for _ in range(WARN_BUSINESS_DAYS):
        day = business_day_on_or_before(day - timedelta(days=1))
    return day


def report_stage(due: date | None, filed_on: date | None, today: date) -> SlaStage:
    """Where a PPC report's clock stands: warned before the deadline, escalated at it, and
    nothing once it is filed."""
    if due is None or filed_on is not None:
        return SlaStage.ON_TRACK
    if today >= due:
        return SlaStage.OVERDUE
    return SlaStage.WARNING if today >= warn_on(due) else SlaStage.ON_TRACK


def contractor_must_report(told_company_promptly: bool) -> bool:
    """Art. 26(1) proviso: a contractor that tells the entrusting company promptly is
    relieved of its own report to the PPC."""
    return not told_company_promptly

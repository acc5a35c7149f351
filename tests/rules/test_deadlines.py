from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.rules.deadlines import (
    JST,
    DecisionClock,
    Pause,
    SlaStage,
    business_day_on_or_after,
    business_day_on_or_before,
    decision_clock,
    is_business_day,
    jst_date,
    leak_report_deadlines,
    paused_time,
    requester_deadline,
)


def at(y, m, d, hh=10, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=JST)


def due_date(received: datetime, pauses=(), now=None) -> date:
    return decision_clock(received, pauses, now=now or received).due_at.date()


# --- business days ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 28), True),  # Monday before the closure
        (date(2026, 12, 29), False),  # closure
        (date(2026, 12, 31), False),
        (date(2027, 1, 1), False),  # New Year's Day and closure
        (date(2027, 1, 3), False),
        (date(2027, 1, 4), True),  # first business day of 2027
        (date(2026, 5, 6), False),  # substitute holiday for Constitution Day on a Sunday
        (date(2026, 9, 22), False),  # "citizens' holiday" between two holidays
        (date(2027, 3, 22), False),  # substitute holiday for the vernal equinox on a Sunday
        (date(2026, 11, 21), False),  # Saturday
        (date(2026, 11, 22), False),  # Sunday
        (date(2026, 11, 24), True),  # Tuesday after Labour Thanksgiving
    ],
)
def test_contract_business_day_excludes_weekends_holidays_and_year_end_closure(day, expected):
    assert is_business_day(day) is expected


def test_business_day_search_directions():
    assert business_day_on_or_before(date(2027, 1, 1)) == date(2026, 12, 28)
    assert business_day_on_or_after(date(2027, 1, 1)) == date(2027, 1, 4)
    assert business_day_on_or_before(date(2026, 11, 24)) == date(2026, 11, 24)


# --- decision due date (docs/contract.md, Art. 39) -----------------------------------------------


def test_art39_due_is_14_calendar_days_after_receipt_at_close_of_business_jst():
    clock = decision_clock(at(2026, 11, 2), now=at(2026, 11, 2))
    assert clock.due_at == datetime(2026, 11, 16, 18, 0, tzinfo=JST)
    assert clock.escalate_at == clock.due_at
    assert clock.paused == timedelta(0)


def test_contract_due_on_new_year_moves_back_to_last_business_day_before_closure():
    assert due_date(at(2026, 12, 18)) == date(2026, 12, 28)


def test_contract_due_in_golden_week_moves_back_before_the_holidays():
    assert due_date(at(2026, 4, 22)) == date(2026, 5, 1)  # 6 May 2026, substitute holiday
    assert due_date(at(2027, 4, 21)) == date(2027, 4, 30)  # 5 May 2027, Children's Day


def test_contract_due_on_substitute_holiday_moves_back():
    assert due_date(at(2027, 3, 8)) == date(2027, 3, 19)  # 22 Mar 2027 → Friday 19th


def test_contract_due_on_silver_week_citizens_holiday_moves_back():
    assert due_date(at(2026, 9, 8)) == date(2026, 9, 18)


def test_contract_due_on_weekend_moves_back_to_friday():
    assert due_date(at(2026, 11, 7)) == date(2026, 11, 20)  # +14 = Saturday 21st


def test_due_uses_the_japanese_calendar_day_of_receipt():
    # 16:00 UTC on 1 Nov is 01:00 JST on 2 Nov
    received = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)
    assert due_date(received) == date(2026, 11, 16)


def test_contract_awaiting_requester_time_extends_the_due_date():
    pauses = [Pause(at(2026, 11, 3), at(2026, 11, 6))]
    assert due_date(at(2026, 11, 2), pauses, now=at(2026, 11, 10)) == date(2026, 11, 19)


def test_contract_open_pause_is_counted_up_to_now():
    pauses = [Pause(at(2026, 11, 3))]
    clock = decision_clock(at(2026, 11, 2), pauses, now=at(2026, 11, 5))
    assert clock.paused == timedelta(days=2)
    assert clock.due_at.date() == date(2026, 11, 18)


def test_overlapping_pauses_count_once_and_future_pauses_not_at_all():
    now = at(2026, 11, 10)
    pauses = [
        Pause(at(2026, 11, 3), at(2026, 11, 5)),
        Pause(at(2026, 11, 4), at(2026, 11, 6)),
        Pause(at(2026, 11, 12), None),
    ]
    assert paused_time(pauses, now) == timedelta(days=3)


def test_contract_warning_at_70_percent_and_escalation_at_due():
    clock = decision_clock(at(2026, 11, 2, 8), now=at(2026, 11, 2, 8))
    # 14 days and 10 hours from receipt to due, 70 % of it
    assert clock.warn_at == at(2026, 11, 2, 8) + timedelta(days=14, hours=10) * 0.7
    assert clock.stage(at(2026, 11, 10)) is SlaStage.ON_TRACK
    assert clock.stage(at(2026, 11, 13)) is SlaStage.WARNING
    assert clock.stage(clock.due_at) is SlaStage.OVERDUE


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError):
        decision_clock(datetime(2026, 11, 2), now=at(2026, 11, 2))
    with pytest.raises(ValueError):
        jst_date(datetime(2026, 11, 2))


received_instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2036, 12, 31), timezones=st.just(JST)
)
pause_specs = st.lists(st.tuples(st.integers(0, 20 * 24), st.integers(0, 10 * 24)), max_size=3)


def make_pauses(received, specs):
    return [Pause(received + timedelta(hours=s), received + timedelta(hours=s + n)) for s, n in specs]


@settings(max_examples=300, deadline=None)
@given(received_instants, pause_specs)
def test_property_due_is_a_business_day_never_after_14_days_plus_pauses(received, specs):
    pauses = make_pauses(received, specs)
    now = received + timedelta(days=60)
    clock = decision_clock(received, pauses, now=now)
    limit = jst_date(received + timedelta(days=14) + paused_time(pauses, now))
    due = clock.due_at.date()
    assert is_business_day(due)
    assert due <= limit
    # the longest run of closed days is the New Year closure with its weekends (9 days)
    assert (limit - due).days <= 9
    assert clock.due_at.time() == time(18, 0)
    assert received < clock.warn_at < clock.due_at


@settings(max_examples=200, deadline=None)
@given(received_instants, pause_specs, st.integers(1, 30 * 24))
def test_property_pausing_never_brings_the_due_date_forward(received, specs, extra_hours):
    now = received + timedelta(days=90)
    pauses = make_pauses(received, specs)
    base = decision_clock(received, pauses, now=now)
    longer = decision_clock(
        received, [*pauses, Pause(received, received + timedelta(hours=extra_hours))], now=now
    )
    assert longer.due_at >= base.due_at


@settings(max_examples=200, deadline=None)
@given(
    st.dates(min_value=date(2024, 12, 20), max_value=date(2036, 1, 10)).filter(
        lambda d: (d.month, d.day) >= (12, 20) or (d.month, d.day) <= (1, 10)
    )
)
def test_property_year_end_due_dates_land_before_the_closure_or_after_it(day):
    received = datetime.combine(day, time(9), JST)
    due = decision_clock(received, now=received).due_at.date()
    assert is_business_day(due)
    assert not (due.month == 12 and due.day >= 29) and not (due.month == 1 and due.day <= 3)


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2036, 12, 31)))
def test_property_business_day_search_lands_on_business_days(day):
    before, after = business_day_on_or_before(day), business_day_on_or_after(day)
    assert is_business_day(before) and is_business_day(after)
    assert before <= day <= after
    assert (before == day) is is_business_day(day)


def test_decision_clock_is_a_value():
    clock = decision_clock(at(2026, 11, 2), now=at(2026, 11, 2))
    assert isinstance(clock, DecisionClock)
    assert clock == decision_clock(at(2026, 11, 2), now=at(2026, 11, 20))


# --- requester deadlines (payment, clarification) -------------------------------------------


def test_contract_payment_and_clarification_deadline_is_14_days():
    assert requester_deadline(at(2026, 11, 2)) == datetime(2026, 11, 16, 23, 59, 59, tzinfo=JST)


def test_requester_deadline_on_closure_moves_forward_in_the_requesters_favour():
    assert requester_deadline(at(2026, 12, 17)).date() == date(2027, 1, 4)


# --- leak reports (docs/rules.md §6) ---------------------------------------------------------------


def test_rules_6_preliminary_report_day_5_counting_day_of_learning_as_day_1():
    assert leak_report_deadlines(date(2026, 11, 2), wrongful_purpose=False).preliminary == date(2026, 11, 6)


def test_rules_6_preliminary_report_on_closure_moves_to_next_business_day():
    assert leak_report_deadlines(date(2026, 12, 27), wrongful_purpose=False).preliminary == date(2027, 1, 4)


def test_rules_6_final_report_30_days_moves_past_golden_week():
    # day 30 is 5 May 2026; 6 May is a substitute holiday
    assert leak_report_deadlines(date(2026, 4, 6), wrongful_purpose=False).final == date(2026, 5, 7)


def test_rules_6_final_report_60_days_for_wrongful_purpose():
    deadlines = leak_report_deadlines(date(2026, 4, 1), wrongful_purpose=True)
    assert deadlines.final == date(2026, 6, 1)  # day 60 is Saturday 30 May
    assert leak_report_deadlines(date(2026, 4, 1), wrongful_purpose=False).final == date(2026, 4, 30)

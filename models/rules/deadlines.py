"""The clocks: decision due dates, requester deadlines and leak-report deadlines.

Calendar rules (docs/contract.md "Fees and deadlines", docs/rules.md §6) are applied to dates in
Japan (Asia/Tokyo). A business day is a weekday that is neither a national holiday (incl.
substitute and "citizens'" holidays, from the ``holidays`` library) nor in the 29 Dec – 3 Jan
closure, which is also when government offices such as the PPC are closed.

Decision: a decision due *instant* is the close of business (18:00 JST) of the due date.
Art. 39 lets a principal sue only after two weeks from arrival have passed, i.e. after the
end of the 14th day (Civil Code Art. 140: the day of arrival is not counted), so 18:00 on a
business day at or before that day keeps the company inside the law and inside office hours.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

import holidays

JST = ZoneInfo("Asia/Tokyo")
DECISION_DAYS = 14
REQUESTER_DEADLINE_DAYS = 14
WARN_FRACTION = 0.7
CLOSE_OF_BUSINESS = time(18, 0)
END_OF_DAY = time(23, 59, 59)
LEAK_PRELIMINARY_DAYS = 5
LEAK_FINAL_DAYS = 30
LEAK_FINAL_DAYS_WRONGFUL = 60


@cache
def _national_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("JP", years=year))


def is_year_end_closure(day: date) -> bool:
    """29 December to 3 January: the company's and the government's New Year closure."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and not is_year_end_closure(day) and day not in _national_holidays(day.year)


def business_day_on_or_before(day: date) -> date:
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def business_day_on_or_after(day: date) -> date:
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def jst_date(instant: datetime) -> date:
    """The calendar day in Japan of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: pass an aware instant")
    return instant.astimezone(JST).date()


@dataclass(frozen=True)
class Pause:
    """Time awaiting the requester (docs/contract.md ``awaiting_requester``): the clock stops."""

    started_at: datetime
    ended_at: datetime | None = None  # open: still waiting


def paused_time(pauses: Iterable[Pause], now: datetime) -> timedelta:
    """Total time paused, an open pause counted up to ``now``; overlaps are counted once."""
    spans = sorted((p.started_at, min(p.ended_at or now, now)) for p in pauses)
    total, cursor = timedelta(0), None
    for start, end in spans:
        if cursor is not None:
            start = max(start, cursor)
        if end > start:
            total += end - start
        cursor = end if cursor is None else max(cursor, end)
    return total


class SlaStage(StrEnum):
    ON_TRACK = "on_track"
    WARNING = "warning"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class DecisionClock:
    received_at: datetime
    paused: timedelta
    due_at: datetime
    warn_at: datetime

    @property
    def escalate_at(self) -> datetime:
        return self.due_at

    def stage(self, now: datetime) -> SlaStage:
        if now >= self.due_at:
            return SlaStage.OVERDUE
        return SlaStage.WARNING if now >= self.warn_at else SlaStage.ON_TRACK


def decision_clock(
    received_at: datetime,
    pauses: Iterable[Pause] = (),
    *,
    now: datetime,
    days: int = DECISION_DAYS,
    warn_fraction: float = WARN_FRACTION,
) -> DecisionClock:
    """Due: received + ``days`` + time paused, on that day in Japan, moved back to the business
    day before when it is not one (the Art. 39 two weeks must not be overrun), at 18:00 JST.
    Warning at ``warn_fraction`` of the way from receipt to due; escalation at due."""
    if received_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("naive datetime: pass aware instants")
    paused = paused_time(pauses, now)
    last_day = jst_date(received_at + timedelta(days=days) + paused)
    due_at = datetime.combine(business_day_on_or_before(last_day), CLOSE_OF_BUSINESS, JST)
    warn_at = received_at + (due_at - received_at) * warn_fraction
    return DecisionClock(received_at=received_at, paused=paused, due_at=due_at, warn_at=warn_at)


def requester_deadline(asked_at: datetime, days: int = REQUESTER_DEADLINE_DAYS) -> datetime:
    """Payment or clarification deadline: the end of the ``days``-th day after asking (JST),
    moved forward to the next business day (Civil Code Art. 142, in the requester's favour)."""
    last_day = business_day_on_or_after(jst_date(asked_at) + timedelta(days=days))
    return datetime.combine(last_day, END_OF_DAY, JST)


@dataclass(frozen=True)
class LeakDeadlines:
    preliminary: date
    final: date


def leak_report_deadlines(learned_on: date, *, wrongful_purpose: bool) -> LeakDeadlines:
    """PPC reports (Rules Art. 8): preliminary within about 3–5 days (madoguchi: 5), final within
    30 days, 60 for a wrongful purpose (case 3). Calendar days with the day of learning as day 1;
    a deadline on a non-business day moves to the next business day."""
    final_days = LEAK_FINAL_DAYS_WRONGFUL if wrongful_purpose else LEAK_FINAL_DAYS
    return LeakDeadlines(
        preliminary=business_day_on_or_after(learned_on + timedelta(days=LEAK_PRELIMINARY_DAYS - 1)),
        final=business_day_on_or_after(learned_on + timedelta(days=final_days - 1)),
    )

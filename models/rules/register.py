"""The request register (開示等請求管理台帳, issue 15): one entry per request, made of what the
request row and its audit trail say, and the summary per month, type and result with the
share decided on time. Pure: services/register.py reads the facts, the exports and pages show
them with the words of services/templates/register.<lang>.toml."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from models.rules.deadlines import jst_date
from models.rules.vocabulary import RequestType, Status

# The stages a request passes through after intake, in the lifecycle's order; the register
# shows the day each was first reached (the audit trail's ``request.status`` events).
STAGES = (Status.IDENTITY_VERIFICATION, Status.REVIEW, Status.AWAITING_APPROVAL, Status.FULFILMENT)
OPEN = "open"  # the result of a request not yet closed
RESULTS = ("granted", "partially_granted", "refused", "withdrawn", "closed", OPEN)
TIMELINESS = ("on_time", "late", "pending")  # the chart's three parts of a month's bar


def channel_of(actor: str) -> str:
    """Where a request came in, from the actor of its ``request.received`` event
    (``requester:web`` is ``web``); a request brought over from before is ``imported``."""
    kind, _, channel = actor.partition(":")
    return channel if kind == "requester" and channel else "imported"


@dataclass(frozen=True)
class Entry:
    """One line of the register. ``names`` is empty unless an export asks for them."""

    reference: str
    channel: str
    request_type: RequestType
    received_at: datetime
    due_at: datetime | None
    status: Status
    outcome: str | None
    reason_codes: tuple[str, ...]
    closed_at: datetime | None
    reached: dict[Status, datetime] = field(default_factory=dict)  # first arrival at each of STAGES
    fee_yen: int | None = None
    postage_yen: int | None = None
    fee_state: str | None = None
    names: tuple[str, ...] = ()  # principal, then the agent when there is one

    @property
    def result(self) -> str:
        """The outcome when the request was decided, else how it ended (withdrawn, closed for
        the requester's silence, refused before review), else ``open``."""
        if self.outcome:
            return self.outcome
        return str(self.status) if self.status.is_final else OPEN

    def on_time(self, now: datetime) -> bool | None:
        """Answered by its due instant? An open request past it is already late; one not yet
        due, a withdrawn one and one without a due date are not counted either way."""
        if self.due_at is None or self.status is Status.WITHDRAWN:
            return None
        if self.closed_at is not None:
            return self.closed_at <= self.due_at
        return False if now > self.due_at else None

    def timeliness(self, now: datetime) -> str:
        return {True: "on_time", False: "late", None: "pending"}[self.on_time(now)]


@dataclass
class Tally:
    """One line of the summary: a month and a request type (``None``: all types)."""

    month: str  # YYYY-MM, Japan's calendar
    request_type: RequestType | None
    count: int = 0
    results: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESULTS, 0))
    timeliness: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TIMELINESS, 0))

    @property
    def on_time_rate(self) -> float | None:
        """The share on time of those judged (on time or late); None when none is."""
        judged = self.timeliness["on_time"] + self.timeliness["late"]
        return self.timeliness["on_time"] / judged if judged else None

    def add(self, entry: Entry, now: datetime) -> None:
        self.count += 1
        self.results[entry.result] += 1
        self.timeliness[entry.timeliness(now)] += 1


def month_of(instant: datetime) -> str:
    return f"{jst_date(instant):%Y-%m}"


def months(start: date, end: date) -> list[str]:
    """Every month from ``start``'s to ``end``'s, so that a month without requests shows as 0."""
    found, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def summarize(entries: Iterable[Entry], start: date, end: date, *, now: datetime) -> list[Tally]:
    """Per month (received, in Japan): one line per request type that month had, then the
    month's total; a month with none has its total line only."""
    by_type: dict[tuple[str, RequestType], Tally] = {}
    totals = {month: Tally(month, None) for month in months(start, end)}
    for entry in entries:
        month = month_of(entry.received_at)
        key = (month, entry.request_type)
        by_type.setdefault(key, Tally(month, entry.request_type)).add(entry, now)
        totals.setdefault(month, Tally(month, None)).add(entry, now)
    lines = []
    for month, total in sorted(totals.items()):
        lines += [by_type[month, kind] for kind in RequestType if (month, kind) in by_type]
        lines.append(total)
    return lines

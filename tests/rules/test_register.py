"""The request register's rules (models/rules/register.py): a request's channel, result and
timeliness, and the summary's months, types and on-time rate."""

from datetime import UTC, date, datetime, timedelta

from models.rules.register import Entry, channel_of, months, summarize
from models.rules.vocabulary import RequestType, Status

RECEIVED = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)  # 1 December, 00:30 in Japan
DUE = RECEIVED + timedelta(days=14)


def entry(
    status=Status.COMPLETED,
    outcome="granted",
    closed_at=DUE,
    request_type=RequestType.DISCLOSURE,
    received_at=RECEIVED,
) -> Entry:
    return Entry(
        reference="R-1",
        channel="web",
        request_type=request_type,
        received_at=received_at,
        due_at=DUE,
        status=status,
        outcome=outcome,
        reason_codes=(),
        closed_at=closed_at,
    )


def test_the_channel_is_the_requesters_actor_else_imported():
    assert channel_of("requester:web") == "web" and channel_of("requester:cli") == "cli"
    assert channel_of("seed") == channel_of("requester:") == channel_of("operator:sato") == "imported"


def test_the_result_is_the_outcome_else_how_it_ended_else_open():
    assert entry().result == "granted"
    assert entry(Status.WITHDRAWN, None).result == "withdrawn"
    assert entry(Status.CLOSED, None).result == "closed"
    assert entry(Status.REVIEW, None, None).result == "open"


def test_on_time_up_to_the_due_instant_and_open_requests_late_only_once_past_it():
    assert entry(closed_at=DUE).on_time(DUE) is True
    assert entry(closed_at=DUE + timedelta(seconds=1)).on_time(DUE) is False
    open_ = entry(Status.REVIEW, None, None)
    assert open_.on_time(DUE) is None and open_.on_time(DUE + timedelta(seconds=1)) is False
    assert entry(Status.WITHDRAWN, None, DUE + timedelta(days=9)).on_time(DUE) is None


def test_months_cross_the_year():
    assert months(date(2026, 11, 15), date(2027, 2, 1)) == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert months(date(2026, 11, 15), date(2026, 11, 15)) == ["2026-11"]


def test_the_summary_groups_by_japans_month_and_type_with_a_total_per_month():
    now = DUE + timedelta(days=30)
    lines = [
        entry(),
        entry(closed_at=DUE + timedelta(days=1)),
        entry(Status.REVIEW, None, None),
        entry(request_type=RequestType.ERASURE),
        entry(Status.WITHDRAWN, None),
    ]
    tallies = summarize(lines, date(2026, 11, 1), date(2026, 12, 31), now=now)
    assert [(t.month, t.request_type, t.count) for t in tallies] == [
        ("2026-11", None, 0),
        ("2026-12", RequestType.DISCLOSURE, 4),
        ("2026-12", RequestType.ERASURE, 1),
        ("2026-12", None, 5),
    ]
    total = tallies[-1]
    assert total.results["granted"] == 3 and total.results["open"] == 1 and total.results["withdrawn"] == 1
    assert total.timeliness == {"on_time": 2, "late": 2, "pending": 1} and total.on_time_rate == 0.5
    assert tallies[0].on_time_rate is None

"""models/rules/recovery.py: a dead run is restarted with growing pauses, then escalated."""

from datetime import UTC, datetime, timedelta

import pytest

from models.rules.recovery import Escalate, Restart, after_run_died, restart_key

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("restarts", "attempt", "pause"), [(0, 1, 15), (1, 2, 60), (2, 3, 240), (3, 4, 960)])
def test_restarts_wait_longer_each_time(restarts, attempt, pause):
    assert after_run_died(restarts, now=NOW) == Restart(attempt, NOW + timedelta(seconds=pause))


def test_after_the_last_restart_people_take_over():
    assert after_run_died(4, now=NOW) == Escalate(4)
    assert after_run_died(9, now=NOW) == Escalate(9)


def test_the_limits_are_the_callers():
    assert after_run_died(1, now=NOW, max_restarts=1) == Escalate(1)
    assert after_run_died(0, now=NOW, first_pause_seconds=2, factor=3) == Restart(
        1, NOW + timedelta(seconds=2)
    )
    assert after_run_died(2, now=NOW, first_pause_seconds=2, factor=3) == Restart(
        3, NOW + timedelta(seconds=18)
    )


def test_each_restart_has_a_key_of_its_own():
    assert restart_key("R-20261205-ABC", 1) == "R-20261205-ABC:restart-1"
    assert restart_key("R-20261205-ABC", 1) != restart_key("R-20261205-ABC", 2)

"""What happens to an open case whose flow run died (Crashed, Failed, Cancelled, or ended
while the case is still open): it is started again, a bounded number of times with growing
pauses between tries, and then handed to people (the work queue and the privacy officer).

The flows are re-entrant (each stage's outcome is in the app database), so a new run goes on
where the case stands. Pure: the caller passes what it knows and the clock."""

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_RESTARTS = 4
FIRST_PAUSE_SECONDS = 15.0
PAUSE_FACTOR = 4.0  # 15 s, 1 min, 4 min, 16 min


@dataclass(frozen=True)
class Restart:
    """Start the case's flow again at ``at``; ``attempt`` counts restarts (1 = the first)."""

    attempt: int
    at: datetime


@dataclass(frozen=True)
class Escalate:
    """Stop restarting: ``restarts`` tries did not keep the case's run alive."""

    restarts: int


def after_run_died(
    restarts_so_far: int,
    *,
    now: datetime,
    max_restarts: int = MAX_RESTARTS,
    first_pause_seconds: float = FIRST_PAUSE_SECONDS,
    factor: float = PAUSE_FACTOR,
) -> Restart | Escalate:
    """The next step for a case whose run died after ``restarts_so_far`` restarts."""
    if restarts_so_far >= max_restarts:
        return Escalate(restarts_so_far)
    pause = first_pause_seconds * factor**restarts_so_far
    return Restart(restarts_so_far + 1, now + timedelta(seconds=pause))


def restart_key(reference: str, attempt: int) -> str:
    """The idempotency key of a restart's run: two dispatchers seeing the same death create
    one run, and a second death gets a run of its own."""
    return f"{reference}:restart-{attempt}"

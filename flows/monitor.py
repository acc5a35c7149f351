"""The scheduled monitors (docs/product.md §6), deployed from prefect.yaml:

- ``sla-monitor`` every 15 minutes: requester waits past their deadline are closed and their
  runs woken; runs still waiting for a requester action already taken (a lost wake-up) are
  woken; requests at 70 % of their time are warned about and overdue ones escalated to
  the privacy officer; contractors due for reassessment or with a certificate expiring are
  reported; leak reports to the PPC are warned about before their deadline and escalated at
  it; the work queue artifact is refreshed; the notices go out; agents' uploaded files
  are deleted once their request closed long enough ago; the audit chain's head is signed into
  the checkpoint file, outside the app database.
- ``daily-digest`` every morning: the day's overview, as an artifact and one email, with a
  fresh audit checkpoint.

No parameters: the monitors read the app database, and everything they write to Prefect is
references, codes and dates."""

from prefect import flow

from tasks.incidents import check_incident_deadlines
from tasks.monitor import (
    check_contractors,
    check_deadlines,
    checkpoint_audit,
    close_overdue_waits,
    publish_digest,
    purge_documents,
    wake_closed_runs,
    wake_stale_waits,
)
from tasks.request import send_notices


@flow(name="sla-monitor", log_prints=False)
def sla_monitor() -> dict:
    closed = close_overdue_waits()
    woken = wake_closed_runs(closed) if closed else 0
    stale = wake_stale_waits()
    checked = check_deadlines()
    contractors = check_contractors()
    incidents = check_incident_deadlines()
    sent = send_notices()
    purged = purge_documents()
    checkpoint = checkpoint_audit()
    return {
        "closed": len(closed),
        "woken": woken,
        "stale_woken": stale,
        **checked,
        "contractors": len(contractors),
        "incident_deadlines": len(incidents),
        "sent": sent["sent"],
        "purged": purged,
        "checkpoint": checkpoint["seq"],
    }


@flow(name="daily-digest", log_prints=False)
def daily_digest() -> dict:
    report = publish_digest(checkpoint_audit())
    sent = send_notices()
    return {**report, "sent": sent["sent"]}

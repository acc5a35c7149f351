"""The audit trail: append-only, each event chained to the one before by an HMAC.

Anyone who edits, inserts, deletes or reorders rows in the database breaks the chain, and
:func:`verify_chain` names the event. The key comes from the secret key, so a person with
only database access cannot recompute a forged chain.
"""

import csv
import hashlib
import hmac
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, select

from models.columns import json_field, timestamp

GENESIS_HASH = "0" * 64
# Japanese phone numbers (10–11 digits from 0, with or without separators, or +81); ids,
# references, fractions of seconds and ISO dates differ.
_PHONE_LIKE = re.compile(r"(?<![\w.-])(?:\+81[- ]?\d{1,4}[- ]?\d{1,4}[- ]?\d{4}|0\d{9,10}|0\d{1,4}[- ]\d{1,4}[- ]\d{3,4})(?![\w-])")
_PERSONAL_KEYS = frozenset(
    {"name", "email", "phone", "address", "postal_address", "login_id", "company", "text", "body"}
)


class AuditEventBase(SQLModel):
    at: datetime = timestamp(index=True)
    actor: str = Field(max_length=120)
    action: str = Field(max_length=120, description="dotted name, e.g. request.identity.verified")
    subject_ref: str = Field(index=True, max_length=64)
    details: dict = json_field(dict)
    flow_run_id: str | None = Field(default=None, max_length=64)


class AuditEvent(AuditEventBase, table=True):
    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's tip: serialises appends, and shows when events were cut off the end."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    last_hash: str = GENESIS_HASH
    mac: str = Field(default="", description="HMAC of (seq, last_hash): the tip cannot be rewound")


def head_mac(key: bytes, seq: int, last_hash: str) -> str:
    return hmac.new(key, f"head:{seq}:{last_hash}".encode(), hashlib.sha256).hexdigest()


def seal_genesis(session: Session, key: bytes) -> None:
    """Sign the empty chain's tip, so that wiping the trail back to "new" is found too."""
    head = session.get(AuditHead, 1)
    if head is not None and head.seq == 0 and not head.mac:
        head.mac = head_mac(key, 0, head.last_hash)
        session.add(head)


def audit_key(secret: str) -> bytes:
    return hashlib.sha256(b"madoguchi-audit-chain:" + secret.encode()).digest()


def chain_hash(key: bytes, seq: int, prev_hash: str, event: AuditEventBase) -> str:
    payload = json.dumps(
        {
            "seq": seq,
            "prev": prev_hash,
            "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": event.actor,
            "action": event.action,
            "subject": event.subject_ref,
            "details": event.details,
            "flow_run": event.flow_run_id,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def check_details(details: Any, path: str = "details") -> None:
    """Refuse details that look like personal data: the trail holds references only."""
    if isinstance(details, dict):
        for k, v in details.items():
            if k in _PERSONAL_KEYS:
                raise ValueError(f"{path}.{k}: audit details carry references, not personal data")
            check_details(v, f"{path}.{k}")
    elif isinstance(details, list):
        for i, v in enumerate(details):
            check_details(v, f"{path}[{i}]")
    elif isinstance(details, str) and (not details.isascii() or "@" in details
                                       or _PHONE_LIKE.search(details)):
        raise ValueError(f"{path}: looks like personal data (an address, a name or a phone number)")
    elif not isinstance(details, (int, float, bool, type(None), str)):
        raise TypeError(f"{path}: {type(details).__name__} is not JSON")


def current_flow_run_id() -> str | None:
    """The Prefect flow run this code runs in, if any (without importing Prefect otherwise)."""
    if "prefect" not in sys.modules:
        return None
    from prefect.runtime import flow_run

    return flow_run.id


def record(
    session: Session,
    *,
    key: bytes,
    at: datetime,
    actor: str,
    action: str,
    subject_ref: str,
    details: dict | None = None,
    flow_run_id: str | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction, so it commits with the change it records."""
    base = AuditEventBase(
        at=at,
        actor=actor,
        action=action,
        subject_ref=subject_ref,
        details=details or {},
        flow_run_id=flow_run_id or current_flow_run_id(),
    )
    check_details(base.details)
    # Bumping the head first takes the write lock (SQLite) or the row lock (PostgreSQL):
    # concurrent appends queue here instead of forking the chain.
    seq, prev_hash = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.last_hash)
    ).one()
    event = AuditEvent(
        **base.model_dump(), seq=seq, prev_hash=prev_hash, hash=chain_hash(key, seq, prev_hash, base)
    )
    session.add(event)
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(last_hash=event.hash, mac=head_mac(key, seq, event.hash))
    )
    return event


@dataclass(frozen=True)
class Finding:
    seq: int
    kind: str  # edited | inserted | deleted | reordered | truncated
    message: str


def verify_chain(key: bytes, events: Sequence[AuditEvent], head: AuditHead) -> list[Finding]:
    """Every break in the chain, each naming the event where it shows.

    The original order is rebuilt by following the links from the genesis (and from just
    after any gap); an event's place in that walk tells an edit from a move or a forgery.
    """
    def valid_at(e: AuditEvent, seq: int) -> bool:
        return hmac.compare_digest(chain_hash(key, seq, e.prev_hash, e), e.hash)

    known = {e.hash for e in events}
    by_prev: dict[str, list[AuditEvent]] = {}
    for e in events:
        by_prev.setdefault(e.prev_hash, []).append(e)
    starts = [(GENESIS_HASH, 1)] + [
        (e.prev_hash, e.seq)
        for e in events
        if e.prev_hash != GENESIS_HASH and e.prev_hash not in known and valid_at(e, e.seq)
    ]
    original: dict[int, int] = {}  # id(event) -> its place in the rebuilt chain
    for link, place in starts:
        while candidates := [c for c in by_prev.get(link, []) if id(c) not in original]:
            nxt = next((c for c in candidates if valid_at(c, place)), None)
            if nxt is None and len(candidates) == 1 and candidates[0].seq <= head.seq:
                nxt = candidates[0]  # in the chain, but its content no longer matches
            if nxt is None:
                break
            original[id(nxt)] = place
            link, place = nxt.hash, place + 1

    findings: list[Finding] = []
    expected = 1
    for e in events:
        if e.seq > expected:
            missing = f"#{expected}" + (f"–#{e.seq - 1}" if e.seq - 1 > expected else "")
            findings.append(Finding(expected, "deleted", f"event {missing} missing before #{e.seq}"))
        place = original.get(id(e))
        if place is None:
            findings.append(Finding(e.seq, "inserted", f"event #{e.seq} ({e.action}) is not part of the chain"))
        elif not valid_at(e, place):
            findings.append(Finding(e.seq, "edited", f"event #{e.seq} ({e.action}) was changed after it was written"))
        elif place != e.seq:
            findings.append(Finding(e.seq, "reordered", f"event #{e.seq} ({e.action}) was event #{place}"))
        expected = e.seq + 1
    last = events[-1].seq if events else 0
    if not hmac.compare_digest(head.mac, head_mac(key, head.seq, head.last_hash)):
        findings.append(Finding(head.seq, "edited", "the chain's tip was rewritten: events cut off the end or the trail replaced"))
    elif head.seq > last:
        findings.append(Finding(last + 1, "deleted", f"events #{last + 1}–#{head.seq} cut off the end"))
    elif events and head.last_hash != events[-1].hash:
        findings.append(Finding(last, "inserted", f"event #{last} is not the chain's recorded tip"))
    return findings


def load_chain(session: Session) -> tuple[list[AuditEvent], AuditHead]:
    events = list(session.exec(select(AuditEvent).order_by(AuditEvent.seq)))
    head = session.get(AuditHead, 1) or AuditHead()
    return events, head


def trail_of(session: Session, subject_ref: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.subject_ref == subject_ref).order_by(AuditEvent.seq)
    return list(session.exec(query))


_EXPORT_FIELDS = ["seq", "at", "actor", "action", "subject_ref", "details", "flow_run_id", "prev_hash", "hash"]


def export_trail(events: Sequence[AuditEvent], out_dir: Path, reference: str) -> tuple[Path, Path]:
    """Write one subject's trail as JSON and CSV, with the chain fields for re-checking."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [
        {f: (getattr(e, f).isoformat() if f == "at" else getattr(e, f)) for f in _EXPORT_FIELDS}
        for e in events
    ]
    json_path = out_dir / f"{reference}-audit.json"
    json_path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    csv_path = out_dir / f"{reference}-audit.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=_EXPORT_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "details": json.dumps(row["details"], ensure_ascii=False)})
    return json_path, csv_path

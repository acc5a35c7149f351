"""The audit trail: append-only, each event chained to the one before by an HMAC.

Anyone who edits, inserts, deletes or reorders rows in the database breaks the chain, and
:func:`verify_chain` names the event. The key comes from the secret key, so a person with
only database access cannot recompute a forged chain; every MAC starts with its key's id, so
the chain stays verifiable across key rotations. The SLA monitor signs the head into a file
outside the database (:func:`write_checkpoint`): a tail cut off together with the head row,
put back as it was before, shows against it.
"""

import base64
import csv
import hashlib
import hmac
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col, select

from models.columns import json_field, timestamp
from models.settings import key_id

GENESIS_HASH = "0" * 64
# Japanese phone numbers (10–11 digits from 0, with or without separators, or +81); ids,
# references, fractions of seconds and ISO dates differ.
_PHONE_LIKE = re.compile(
    r"(?<![\w.-])(?:\+81[- ]?\d{1,4}[- ]?\d{1,4}[- ]?\d{4}|0\d{9,10}|0\d{1,4}[- ]\d{1,4}[- ]\d{3,4})(?![\w-])"
)
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


@dataclass(frozen=True)
class AuditKey:
    """One secret's chain key, named by the secret's key id."""

    id: str
    mac_key: bytes = field(repr=False)

    def sign(self, message: str) -> str:
        """``<key id>:<HMAC-SHA256, base64url>``: 52 characters, within the 64 of a hash column."""
        digest = hmac.new(self.mac_key, message.encode(), hashlib.sha256).digest()
        return f"{self.id}:{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def audit_key(secret: str) -> AuditKey:
    return AuditKey(key_id(secret), hashlib.sha256(b"madoguchi-audit-chain:" + secret.encode()).digest())


def _valid(keys: dict[str, AuditKey], message: str, mac: str) -> bool:
    """Whether the key ``mac`` names signed ``message``; a MAC naming no key of ours is not."""
    key = keys.get(mac.partition(":")[0])
    return key is not None and hmac.compare_digest(key.sign(message), mac)


def _head_message(seq: int, last_hash: str) -> str:
    return f"head:{seq}:{last_hash}"


def head_mac(key: AuditKey, seq: int, last_hash: str) -> str:
    return key.sign(_head_message(seq, last_hash))


def seal_genesis(session: Session, key: AuditKey) -> None:
    """Sign the empty chain's tip, so that wiping the trail back to "new" is found too."""
    head = session.get(AuditHead, 1)
    if head is not None and head.seq == 0 and not head.mac:
        head.mac = head_mac(key, 0, head.last_hash)
        session.add(head)


def _payload(seq: int, prev_hash: str, event: AuditEventBase) -> str:
    return json.dumps(
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


def chain_hash(key: AuditKey, seq: int, prev_hash: str, event: AuditEventBase) -> str:
    return key.sign(_payload(seq, prev_hash, event))


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
    elif isinstance(details, str) and (
        not details.isascii() or "@" in details or _PHONE_LIKE.search(details)
    ):
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
    key: AuditKey,
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
        .where(col(AuditHead.id) == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(col(AuditHead.seq), col(AuditHead.last_hash))
    ).one()
    event = AuditEvent(
        **base.model_dump(), seq=seq, prev_hash=prev_hash, hash=chain_hash(key, seq, prev_hash, base)
    )
    session.add(event)
    session.execute(
        update(AuditHead)
        .where(col(AuditHead.id) == 1)
        .values(last_hash=event.hash, mac=head_mac(key, seq, event.hash))
    )
    return event


@dataclass(frozen=True)
class Finding:
    seq: int
    kind: str  # edited | inserted | deleted | reordered | truncated
    message: str


def verify_chain(
    keys: Iterable[AuditKey],
    events: Sequence[AuditEvent],
    head: AuditHead,
    checkpoint: "Checkpoint | None" = None,
) -> list[Finding]:
    """Every break in the chain, each naming the event where it shows; ``keys``: every key
    that may have signed (the keyring), ``checkpoint``: the latest one written.

    The original order is rebuilt by following the links from the genesis (and from just
    after any gap); an event's place in that walk tells an edit from a move or a forgery.
    """
    by_id = {key.id: key for key in keys}

    def valid_at(e: AuditEvent, seq: int) -> bool:
        return _valid(by_id, _payload(seq, e.prev_hash, e), e.hash)

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
        rebuilt = original.get(id(e))
        if rebuilt is None:
            findings.append(
                Finding(e.seq, "inserted", f"event #{e.seq} ({e.action}) is not part of the chain")
            )
        elif not valid_at(e, rebuilt):
            findings.append(
                Finding(e.seq, "edited", f"event #{e.seq} ({e.action}) was changed after it was written")
            )
        elif rebuilt != e.seq:
            findings.append(Finding(e.seq, "reordered", f"event #{e.seq} ({e.action}) was event #{rebuilt}"))
        expected = e.seq + 1
    last = events[-1].seq if events else 0
    if not _valid(by_id, _head_message(head.seq, head.last_hash), head.mac):
        findings.append(
            Finding(
                head.seq,
                "edited",
                "the chain's tip was rewritten: events cut off the end or the trail replaced",
            )
        )
    elif head.seq > last:
        findings.append(Finding(last + 1, "deleted", f"events #{last + 1}–#{head.seq} cut off the end"))
    elif events and head.last_hash != events[-1].hash:
        findings.append(Finding(last, "inserted", f"event #{last} is not the chain's recorded tip"))
    if checkpoint is not None:
        findings += _against(by_id, checkpoint, {e.seq: e for e in events}, last)
    return findings


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head as the SLA monitor saw it, signed, one line of an append-only file."""

    at: datetime
    seq: int
    last_hash: str
    mac: str

    @staticmethod
    def message(at: datetime, seq: int, last_hash: str) -> str:
        return f"checkpoint:{at.astimezone(UTC).isoformat()}:{seq}:{last_hash}"

    def line(self) -> str:
        return (
            json.dumps(
                {
                    "at": self.at.astimezone(UTC).isoformat(),
                    "seq": self.seq,
                    "hash": self.last_hash,
                    "mac": self.mac,
                }
            )
            + "\n"
        )

    @classmethod
    def parse(cls, line: str) -> "Checkpoint":
        """One line of the file; ValueError if it is not one."""
        try:
            row = json.loads(line)
            return cls(datetime.fromisoformat(row["at"]), int(row["seq"]), str(row["hash"]), str(row["mac"]))
        except (KeyError, TypeError, ValueError):
            raise ValueError("not a checkpoint line") from None

    def as_dict(self) -> dict:
        """What the monitor reports and the digest shows: the head it saw, and when."""
        return {"seq": self.seq, "hash": self.last_hash, "at": self.at.astimezone(UTC).isoformat()}

    def described(self) -> str:
        return (
            f"the checkpoint of {self.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC saw entry #{self.seq} "
            f"with hash {self.last_hash}"
        )


def _against(
    keys: dict[str, AuditKey], checkpoint: Checkpoint, by_seq: dict[int, AuditEvent], last: int
) -> list[Finding]:
    """What the chain lost since the checkpoint: its tail (put back head row and all), or the
    entry the checkpoint saw, cut and written again."""
    message = Checkpoint.message(checkpoint.at, checkpoint.seq, checkpoint.last_hash)
    if not _valid(keys, message, checkpoint.mac):
        return [
            Finding(
                checkpoint.seq,
                "edited",
                f"the checkpoint file was changed: {checkpoint.described()}, but no key of ours signed that",
            )
        ]
    if checkpoint.seq > last:
        return [
            Finding(last + 1, "truncated", f"the chain ends at entry #{last} but {checkpoint.described()}")
        ]
    seen = by_seq.get(checkpoint.seq)
    if seen is not None and seen.hash != checkpoint.last_hash:  # a missing one is named as deleted
        return [
            Finding(
                checkpoint.seq,
                "truncated",
                f"entry #{checkpoint.seq} is not the one {checkpoint.described()}: the chain was cut "
                "and written again",
            )
        ]
    return []


def latest_checkpoint(path: Path) -> Checkpoint | None:
    """The file's last line (the file only grows, and lines are short)."""
    if not path.exists():
        return None
    with path.open("rb") as fh:
        fh.seek(max(0, fh.seek(0, os.SEEK_END) - 4096))
        lines = fh.read().decode(errors="replace").splitlines()
    return Checkpoint.parse(lines[-1]) if lines and lines[-1].strip() else None


def write_checkpoint(session: Session, key: AuditKey, path: Path, now: datetime) -> Checkpoint:
    """Sign the head into the file; idempotent by head: an unchanged head adds no line."""
    head = session.get(AuditHead, 1) or AuditHead()
    try:
        latest = latest_checkpoint(path)
    except ValueError:
        latest = None  # a torn last line: the new one is what verify reads
    if latest is not None and (latest.seq, latest.last_hash) == (head.seq, head.last_hash):
        return latest
    checkpoint = Checkpoint(
        now, head.seq, head.last_hash, key.sign(Checkpoint.message(now, head.seq, head.last_hash))
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, checkpoint.line().encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return checkpoint


def load_chain(session: Session) -> tuple[list[AuditEvent], AuditHead]:
    events = list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))))
    head = session.get(AuditHead, 1) or AuditHead()
    return events, head


def trail_of(session: Session, subject_ref: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.subject_ref == subject_ref).order_by(col(AuditEvent.seq))
    return list(session.exec(query))


_EXPORT_FIELDS = [
    "seq",
    "at",
    "actor",
    "action",
    "subject_ref",
    "details",
    "flow_run_id",
    "prev_hash",
    "hash",
]


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

"""The protocol for any demo system described by a :class:`~systems.base.SystemDef`.

Each action runs in one transaction that first looks up the idempotency key in the
system's ``applied_actions`` ledger, then applies the effect and writes the key: a replay
finds the key and returns the stored result; two racing calls collide on the key's primary
key and the loser's effect rolls back with it.

Database errors are translated without their message or parameters (SQLAlchemy puts the
bound values, i.e. personal data, into ``str(exc)``), and never chained.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update
from sqlalchemy import exc as sa_exc

from models.rules.deadlines import jst_date
from models.rules.vocabulary import Origin, SystemAction
from systems.base import Part, SystemDef, now
from systems.db import ensure_schema, jsonable
from systems.identity import SubjectIdentity
from systems.protocol import (
    ActionNotSupported,
    ActionResult,
    Located,
    PermanentSystemError,
    TransientSystemError,
)

Effect = Callable[[Connection], dict[str, int]]


def _day(value: date) -> date:
    """A stored day, or a stored instant's day in Japan (SQLite gives UTC instants back
    without their zone)."""
    if isinstance(value, datetime):
        return jst_date(value if value.tzinfo else value.replace(tzinfo=UTC))
    return value


@contextmanager
def translated(system: str, what: str) -> Iterator[None]:
    """Map driver errors to transient/permanent, keeping personal data out of the message."""
    try:
        yield
    except sa_exc.OperationalError as exc:
        raise TransientSystemError(system, f"{what}: {type(exc.orig).__name__}") from None
    except (sa_exc.TimeoutError, sa_exc.DisconnectionError) as exc:
        raise TransientSystemError(system, f"{what}: {type(exc).__name__}") from None
    except sa_exc.DBAPIError as exc:
        raise PermanentSystemError(system, f"{what}: {type(exc.orig).__name__}") from None
    except sa_exc.SQLAlchemyError as exc:  # e.g. a bind error: its text holds the parameters
        raise PermanentSystemError(system, f"{what}: {type(exc).__name__}") from None


class DatabaseConnector:
    """A demo system reached directly through its own database."""

    def __init__(self, definition: SystemDef, url: str):
        self.definition = definition
        self.key = definition.key
        self.url = url

    @property
    def actions(self) -> frozenset[SystemAction]:
        return self.definition.info.actions

    def _engine(self):
        return ensure_schema(self.url, self.definition.metadata)

    def _matches(self, identity: SubjectIdentity) -> Iterator[tuple[Part, Any]]:
        for part in self.definition.parts:
            condition = part.match(identity)
            if condition is not None:
                yield part, condition

    def _own(self, identity: SubjectIdentity) -> Iterator[tuple[Part, Any]]:
        """The rows a requester's action may change: the company's own data only. Rows first
        obtained through an authority's inquiry or held for another company are not retained
        personal data (Art. 16(4), Cabinet Order Art. 5) and stay as they are."""
        for part, condition in self._matches(identity):
            if part.has("origin"):
                condition = and_(condition, part.table.c.origin == Origin.COLLECTED.value)
            yield part, condition

    def discover(self, identity: SubjectIdentity) -> dict[str, set[str]]:
        if self.definition.discover is None:
            return {}
        with translated(self.key, "discover"), self._engine().connect() as conn:
            return self.definition.discover(conn, identity)

    def registered_emails(self, login_id: str | None, phone: str | None) -> list[str]:
        if self.definition.registered_email is None:
            return []
        with translated(self.key, "registered_email"), self._engine().connect() as conn:
            return self.definition.registered_email(conn, login_id, phone)

    def locate(self, identity: SubjectIdentity) -> Located:
        counts: dict[str, int] = {}
        refs: dict[str, list[str]] = {}
        origins: set[Origin] = set()
        restricted = stopped = 0
        closings: list[date | None] = []
        active: list[date] = []
        with translated(self.key, "locate"), self._engine().connect() as conn:
            for part, condition in self._matches(identity):
                t = part.table
                flags = [
                    t.c[name]
                    for name in ("origin", "restricted_at", "provision_stopped_at")
                    if part.has(name)
                ]
                dates = [t.c[name] for name in (*part.active, *filter(None, [part.closed]))]
                rows = conn.execute(select(t.c[part.ref], *flags, *dates).where(condition)).all()
                counts[part.category] = counts.get(part.category, 0) + len(rows)
                refs.setdefault(part.category, []).extend(str(r[0]) for r in rows)
                for row in rows:
                    m = row._mapping
                    if "origin" in m:
                        origins.add(Origin(m["origin"]))
                    restricted += m.get("restricted_at") is not None
                    stopped += m.get("provision_stopped_at") is not None
                    active.extend(_day(m[name]) for name in part.active if m[name] is not None)
                    if part.closed:
                        closings.append(m[part.closed] and _day(m[part.closed]))
        known = [day for day in closings if day is not None]
        closed_on = max(known) if closings and len(known) == len(closings) else None
        return Located(
            self.key,
            counts,
            refs,
            frozenset(origins),
            restricted,
            stopped,
            closed_on=closed_on,
            last_active_on=max(active, default=None),
        )

    def export(self, identity: SubjectIdentity) -> list[dict[str, Any]]:
        records = []
        with translated(self.key, "export"), self._engine().connect() as conn:
            for part, condition in self._matches(identity):
                for row in conn.execute(select(part.table).where(condition)).mappings():
                    record = {"_system": self.key, "_category": part.category}
                    record.update({k: jsonable(v) for k, v in row.items()})
                    records.append(record)
        return records

    def rectify(
        self, identity: SubjectIdentity, changes: dict[str, str], *, idempotency_key: str
    ) -> ActionResult:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in changes.items()):
            raise PermanentSystemError(self.key, "rectify: changes must map field names to text")

        def effect(conn: Connection) -> dict[str, int]:
            done: dict[str, int] = {}
            for part, condition in self._own(identity):
                values = {part.rectify[f]: v for f, v in changes.items() if f in part.rectify}
                if values:
                    differs = or_(
                        *[or_(part.table.c[c].is_(None), part.table.c[c] != v) for c, v in values.items()]
                    )
                    stmt = update(part.table).where(condition, differs).values(values)
                    done[part.category] = conn.execute(stmt).rowcount
            return done

        return self._apply(SystemAction.RECTIFY, idempotency_key, effect)

    def erase(self, identity: SubjectIdentity, *, idempotency_key: str) -> ActionResult:
        def effect(conn: Connection) -> dict[str, int]:
            done: dict[str, int] = {}
            # children first: their match may go through a parent that is about to be unlinked
            for part, condition in reversed(list(self._own(identity))):
                t = part.table
                if part.erase == "delete":
                    done[part.category] = conn.execute(delete(t).where(condition)).rowcount
                elif part.erase == "anonymise":
                    values: dict[str, Any] = dict.fromkeys(part.anonymise)
                    if part.has("erased_at"):
                        values["erased_at"] = now()
                    done[part.category] = conn.execute(update(t).where(condition).values(values)).rowcount
            return done

        return self._apply(SystemAction.ERASE, idempotency_key, effect)

    def purge(self, identity: SubjectIdentity) -> int:
        """Remove every row of the subject, outside the protocol: reloading a fixture starts the
        subject afresh instead of adding to what an earlier load wrote."""
        with translated(self.key, "purge"), self._engine().begin() as conn:
            return sum(
                conn.execute(delete(part.table).where(condition)).rowcount
                for part, condition in reversed(list(self._matches(identity)))
            )

    def restrict(self, identity: SubjectIdentity, *, idempotency_key: str) -> ActionResult:
        return self._apply(SystemAction.RESTRICT, idempotency_key, self._flag(identity, "restricted_at"))

    def stop_provision(self, identity: SubjectIdentity, *, idempotency_key: str) -> ActionResult:
        return self._apply(
            SystemAction.STOP_PROVISION, idempotency_key, self._flag(identity, "provision_stopped_at")
        )

    def _flag(self, identity: SubjectIdentity, column: str) -> Effect:
        def effect(conn: Connection) -> dict[str, int]:
            done: dict[str, int] = {}
            for part, condition in self._own(identity):
                if part.has(column):
                    stmt = (
                        update(part.table)
                        .values({column: now()})
                        .where(and_(condition, part.table.c[column].is_(None)))
                    )
                    done[part.category] = done.get(part.category, 0) + conn.execute(stmt).rowcount
            return done

        return effect

    def _apply(self, action: SystemAction, key: str, effect: Effect) -> ActionResult:
        if action not in self.actions:
            raise ActionNotSupported(self.key, f"{action} is not supported")
        if not key or len(key) > 200:
            raise PermanentSystemError(self.key, "idempotency key must be 1-200 characters")
        ledger = self.definition.applied
        try:
            with translated(self.key, str(action)), self._engine().begin() as conn:
                prior = self._prior(conn, key, action)
                if prior is not None:
                    return prior
                per_category = effect(conn)
                result = ActionResult(
                    self.key,
                    action,
                    key,
                    sum(per_category.values()),
                    False,
                    describe(action, per_category),
                    per_category,
                )
                conn.execute(
                    insert(ledger).values(
                        idempotency_key=key,
                        action=str(action),
                        affected=result.affected,
                        result=json.dumps({"done": result.done, "per_category": per_category}),
                        applied_at=now(),
                    )
                )
                return result
        except PermanentSystemError:
            # lost a race on the key: the winner's effect stands, report it as a replay
            with translated(self.key, str(action)), self._engine().connect() as conn:
                prior = self._prior(conn, key, action)
            if prior is None:
                raise
            return prior

    def _prior(self, conn: Connection, key: str, action: SystemAction) -> ActionResult | None:
        ledger = self.definition.applied
        row = conn.execute(select(ledger).where(ledger.c.idempotency_key == key)).first()
        if row is None:
            return None
        if row.action != str(action):
            raise PermanentSystemError(self.key, f"idempotency key already used for {row.action}")
        stored = json.loads(row.result)
        return ActionResult(self.key, action, key, row.affected, True, stored["done"], stored["per_category"])


def describe(action: SystemAction, per_category: dict[str, int]) -> str:
    """What was done, in words without personal data: counts per category."""
    verb = {
        SystemAction.RECTIFY: "corrected",
        SystemAction.ERASE: "erased",
        SystemAction.RESTRICT: "restricted",
        SystemAction.STOP_PROVISION: "stopped provision of",
        SystemAction.EXPORT: "exported",
    }[action]
    parts = [f"{n} {category}" for category, n in per_category.items() if n]
    return f"{verb} " + (", ".join(parts) if parts else "nothing (no matching records)")

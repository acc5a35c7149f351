"""The one protocol every system that holds personal data sits behind.

Fulfilment only ever talks to :class:`Connector`; a demo database, a contractor's partner
API and a fault-injecting wrapper all look the same to it. Action results carry counts and
internal record references, never personal data, so they may travel into Prefect results;
the personal data itself (``export``) stays in the caller's process, and so does
:class:`Located`, whose dates say when the subject last used the service.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from models.rules.vocabulary import Origin, SystemAction

if TYPE_CHECKING:
    from systems.identity import SubjectIdentity


class SystemFailure(Exception):
    """Base of what a connector raises; messages never contain personal data."""

    def __init__(self, system: str, message: str):
        super().__init__(f"{system}: {message}")
        self.system = system


class TransientSystemError(SystemFailure):
    """Worth retrying: the system is locked, busy, unreachable or timed out."""


class PermanentSystemError(SystemFailure):
    """Retrying will not help: an operator has to look (bad input, key reused, schema)."""


class ActionNotSupported(PermanentSystemError):
    """The system cannot do this at all, e.g. erase bookkeeping records it must keep."""


@dataclass(frozen=True)
class Located:
    """What one system holds about a subject: counts and references, no content; and the
    facts that decide whether it is still needed (days on the Japanese calendar)."""

    system: str
    counts: dict[str, int]
    refs: dict[str, list[str]]
    origins: frozenset[Origin] = frozenset()
    restricted: int = 0
    provision_stopped: int = 0
    # the day the subject's account here was closed; None while any account of theirs is open
    # (or the system keeps no accounts)
    closed_on: date | None = None
    last_active_on: date | None = None  # the subject's latest order, invoice or payment here

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def found(self) -> bool:
        return self.total > 0


@dataclass(frozen=True)
class ActionResult:
    """The outcome of one idempotent action; a replay returns the first call's figures."""

    system: str
    action: SystemAction
    idempotency_key: str
    affected: int
    replayed: bool
    done: str
    per_category: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class Connector(Protocol):
    """Locate and act on one subject's data in one system.

    Every action is idempotent by ``idempotency_key``: the system records the key in the
    same transaction as the effect, so a second call with the same key does nothing and
    returns the stored result with ``replayed=True``. Reusing a key for another action is a
    :class:`PermanentSystemError`.
    """

    key: str

    def locate(self, identity: SubjectIdentity) -> Located: ...

    def export(self, identity: SubjectIdentity) -> list[dict[str, Any]]: ...

    def rectify(
        self, identity: SubjectIdentity, changes: dict[str, str], *, idempotency_key: str
    ) -> ActionResult: ...

    def erase(self, identity: SubjectIdentity, *, idempotency_key: str) -> ActionResult: ...

    def restrict(self, identity: SubjectIdentity, *, idempotency_key: str) -> ActionResult: ...

    def stop_provision(self, identity: SubjectIdentity, *, idempotency_key: str) -> ActionResult: ...


@runtime_checkable
class IdentitySource(Protocol):
    """A system that can link the identity to more of its own keys (see ``identity.py``)."""

    def discover(self, identity: SubjectIdentity) -> dict[str, set[str]]: ...


@runtime_checkable
class EmailSource(Protocol):
    """A system that keeps the registered email of its records (the customer master): the help
    desk takes it from the record a caller's login ID or phone names."""

    def registered_emails(self, login_id: str | None, phone: str | None) -> list[str]: ...

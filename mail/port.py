"""The email port: the one call the outbox makes to hand a rendered message to a provider.

Adapters make one try per call and raise :class:`TransientSendError` (worth retrying later:
the outbox schedules the next try), :class:`PermanentSendError` (an operator must look: the
provider's own words are kept) or :class:`InDoubtSendError` (the request left and no answer
came back, so it may or may not have been accepted).
"""

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class OutgoingMessage:
    to: str
    subject: str
    text: str
    html: str
    idempotency_key: str
    kind: str
    language: str
    reference: str | None = None
    marketing: bool = False
    unsubscribe_url: str | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str


class SendError(Exception):
    """Carries provider text and status only: never the message or the address."""


class TransientSendError(SendError):
    """Worth another try later; ``retry_after`` is the provider's own wait, when it gave one."""

    def __init__(self, text: str, retry_after: float | None = None) -> None:
        super().__init__(text)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    pass


class InDoubtSendError(SendError):
    pass


class LookupUnavailable(Exception):
    """The provider cannot tell whether it accepted a message."""


@runtime_checkable
class EmailPort(Protocol):
    def send(self, message: OutgoingMessage) -> SendResult:
        """Deliver once; raise a :class:`SendError` subclass when not accepted."""
        ...

    def find_sent(self, idempotency_key: str) -> SendResult | None:
        """The provider's record of a message sent under this key, ``None`` if it has none;
        raises :class:`LookupUnavailable` when it cannot tell."""
        ...

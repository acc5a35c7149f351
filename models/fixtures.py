"""The app-database part of a fixture: third-party provision records and earlier requests.

The systems' part (customers and their records) is loaded by ``demo.fixture``; this half
gives the pre-screen what it reads from the app database (repeated requests, provisions).
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.audit import AuditKey, record
from models.db import row_id
from models.ledgers import ProvisionRecord
from models.requests import Party, Request, new_reference
from models.rules.provision import record_retention_until
from models.rules.vocabulary import Outcome, Role, Status


def _jst_noon(day: date | datetime) -> datetime:
    if isinstance(day, datetime):
        return day if day.tzinfo else day.replace(tzinfo=ZoneInfo("Asia/Tokyo"))
    return datetime.combine(day, time(12), tzinfo=ZoneInfo("Asia/Tokyo"))


def load_fixture_into_app(session: Session, fixture, *, now: datetime, audit_key: AuditKey) -> dict[str, int]:
    """Write each customer's provisions and prior requests; skips what an earlier load wrote."""
    counts = {"provision_records": 0, "prior_requests": 0}
    for customer in fixture.customers:
        for provision in customer.third_party_provisions:
            provided_at = _jst_noon(provision.provided_at).astimezone(UTC)
            exists = session.exec(
                select(ProvisionRecord.id).where(
                    ProvisionRecord.subject_email == customer.email,
                    ProvisionRecord.recipient == provision.recipient,
                    ProvisionRecord.provided_at == provided_at,
                )
            ).first()
            if exists:
                continue
            session.add(
                ProvisionRecord(
                    subject_email=customer.email,
                    subject_name=customer.name,
                    recipient=provision.recipient,
                    items=list(provision.items),
                    basis=provision.basis,
                    provided_at=provided_at,
                    keep_until=_jst_noon(record_retention_until(provision.provided_at)).astimezone(UTC),
                    source_ref="fixture",
                )
            )
            counts["provision_records"] += 1
        for prior in customer.prior_requests:
            received_at = _jst_noon(prior.received_at).astimezone(UTC)
            already = session.exec(
                select(Request.id)
                .join(Party, col(Party.request_id) == Request.id)
                .where(
                    Party.email == customer.email,
                    Request.request_type == prior.request_type,
                    Request.received_at == received_at,
                )
            ).first()
            if already:
                continue
            request = Request(
                reference=new_reference(received_at),
                request_type=prior.request_type,
                status=Status.COMPLETED,
                outcome=Outcome.GRANTED,
                status_token_hash="",  # imported: no status token can ever match
                received_at=received_at,
                closed_at=received_at,
                updated_at=now,
            )
            session.add(request)
            session.flush()
            session.add(
                Party(
                    request_id=row_id(request),
                    role=Role.PRINCIPAL,
                    is_requester=True,
                    name=customer.name,
                    email=customer.email,
                    phone=customer.phone,
                    company=customer.company,
                    login_id=customer.login_id,
                )
            )
            record(
                session,
                key=audit_key,
                at=now,
                actor="seed",
                action="request.imported",
                subject_ref=request.reference,
                details={"request_type": str(prior.request_type)},
            )
            counts["prior_requests"] += 1
    return counts

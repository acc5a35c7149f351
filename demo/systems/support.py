"""Support desk (ビズらくヘルプデスク): tickets and recorded calls (§2.1 g, §8).

Tickets are keyed by customer id; the telephony system knows only the caller's number
(bare digits), so recordings are found by phone. Recordings are personal information and
disclosable as files: the row keeps the file reference.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, DateTime, Index, Integer, MetaData, String, Table, Text

from demo.systems.common import DemoSystem, chunks, next_number
from demo.world import PRODUCTS, SubjectData, World, known
from models.rules.vocabulary import Origin, SystemAction
from systems.base import Category, Part, SystemInfo, applied_actions, by, record_columns
from systems.identity import phone_digits

metadata = MetaData()
tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", String(16), primary_key=True),
    Column("customer_id", String(16)),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text),
    Column("contact_name", String(100)),
    Column("contact_phone", String(32)),
    Column("status", String(16), nullable=False),
    *record_columns(),
    Index("ix_tickets_customer_id", "customer_id"),
)
recordings = Table(
    "call_recordings",
    metadata,
    Column("recording_id", String(16), primary_key=True),
    Column("caller_number", String(20), nullable=False),
    Column("ticket_id", String(16)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("duration_seconds", Integer, nullable=False),
    Column("agent", String(100), nullable=False),
    Column("file_ref", String(200), nullable=False),
    *record_columns(),
    Index("ix_call_recordings_caller_number", "caller_number"),
)

PARTS = (
    Part(
        "tickets",
        tickets,
        by(tickets.c.customer_id, "customer_ids"),
        "ticket_id",
        "anonymise",
        ("customer_id", "body", "contact_name", "contact_phone"),
        {"name": "contact_name", "phone": "contact_phone"},
    ),
    Part(
        "call_recordings",
        recordings,
        by(recordings.c.caller_number, "phone_numbers"),
        "recording_id",
        "delete",
    ),
)

TOPICS = (
    "の配送状況について",
    "の請求書の再発行について",
    "の返品について",
    "のお見積りについて",
    "の納期について",
    "のログインについて",
)
CHANNELS = ("phone", "form", "email")


def _ticket(
    world: World, ticket_id: str, customer_id: str, name: str, phone: str, j: int, origin: str
) -> dict:
    product = world.pick(PRODUCTS, j, 63)[0]
    topic = world.pick(TOPICS, j, 64)
    return {
        "ticket_id": ticket_id,
        "customer_id": customer_id,
        "opened_at": world.when(j, 65),
        "channel": world.pick(CHANNELS, j, 66),
        "subject": f"{product}{topic}",
        "body": f"{name}様より{product}{topic}のお問い合わせ。折り返し先 {phone}。",
        "contact_name": name,
        "contact_phone": phone,
        "status": "closed" if j % 4 else "open",
        "origin": origin,
    }


def _recording(
    world: World, recording_id: str, number: str, ticket_id: str | None, j: int, origin: str
) -> dict:
    started = world.when(j, 67)
    return {
        "recording_id": recording_id,
        "caller_number": number,
        "ticket_id": ticket_id,
        "started_at": started,
        "duration_seconds": 30 + j % 900,
        "agent": world.pick(world.agents, j, 68),
        "file_ref": f"recordings/{started:%Y}/{started:%m}/{recording_id}.wav",
        "origin": origin,
    }


def seed(world: World):
    def ticket_rows():
        for j in range(world.customers):
            p = world.customer(world.owner(j, 61))
            yield _ticket(world, f"TK{j:08d}", p.customer_id, p.name, p.phone, j, "collected")

    def recording_rows():
        for j in range(world.customers):
            p = world.customer(world.owner(j, 62))
            yield _recording(world, f"REC{j:010d}", phone_digits(p.phone), None, j, "collected")

    for batch in chunks(ticket_rows()):
        yield tickets, batch
    for batch in chunks(recording_rows()):
        yield recordings, batch


def load_subject(conn: Connection, s: SubjectData, count: int, origin: Origin, world: World):
    """``count`` tickets, each with a recorded call from the subject's phone."""
    first_ticket = next_number(conn, tickets, "ticket_id", "TK", 8)
    first_rec = next_number(conn, recordings, "recording_id", "REC", 10)
    for k in range(count):
        ticket_id = f"TK{first_ticket + k:08d}"
        conn.execute(
            tickets.insert().values(
                _ticket(
                    world, ticket_id, known(s.customer_id), s.name, s.phone, first_ticket + k, origin.value
                )
            )
        )
        conn.execute(
            recordings.insert().values(
                _recording(
                    world,
                    f"REC{first_rec + k:010d}",
                    phone_digits(s.phone),
                    ticket_id,
                    first_rec + k,
                    origin.value,
                )
            )
        )


DEF = DemoSystem(
    info=SystemInfo(
        key="support",
        name_ja="ヘルプデスク",
        name_en="Support desk",
        categories=(
            Category(
                "tickets", "お問い合わせ", "Support tickets", ("問い合わせ内容", "担当者氏名", "電話番号")
            ),
            Category(
                "call_recordings", "通話録音", "Call recordings", ("発信者番号", "通話日時", "録音ファイル")
            ),
        ),
        actions=frozenset(SystemAction) - {SystemAction.STOP_PROVISION},
    ),
    metadata=metadata,
    parts=PARTS,
    applied=applied_actions(metadata),
    seed=seed,
    load_subject=load_subject,
)

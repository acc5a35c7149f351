"""Marketing email list (メールマガジン配信リスト): consent, opt-out and what was sent (§2.1 d, §5.3)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
)

from demo.systems.common import DemoSystem, chunks, next_number
from demo.world import CAMPAIGNS, SubjectData, World
from models.rules.vocabulary import Origin, SystemAction
from systems.base import Category, Part, SystemInfo, applied_actions, by, record_columns
from systems.identity import SubjectIdentity, normalise_email

metadata = MetaData()
subscribers = Table(
    "subscribers",
    metadata,
    Column("subscriber_id", String(16), primary_key=True),
    Column("email", String(254)),
    Column("contact_name", String(100)),
    Column("company", String(200)),
    Column("consented", Boolean, nullable=False),
    Column("consented_at", DateTime(timezone=True)),
    Column("opted_out", Boolean, nullable=False),
    Column("opted_out_at", DateTime(timezone=True)),
    Column("last_mailed_at", DateTime(timezone=True)),
    *record_columns(),
    Index("ix_subscribers_email", "email"),
)
mailings = Table(
    "mailings",
    metadata,
    Column("mailing_id", Integer, primary_key=True),
    Column("subscriber_id", String(16), nullable=False),
    Column("campaign", String(100), nullable=False),
    Column("advertising", Boolean, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Index("ix_mailings_subscriber_id", "subscriber_id"),
)


def _mailings_of(identity: SubjectIdentity):
    listed = select(subscribers.c.subscriber_id).where(subscribers.c.email == identity.email)
    return mailings.c.subscriber_id.in_(listed)


PARTS = (
    Part(
        "subscriptions",
        subscribers,
        by(subscribers.c.email, "emails"),
        "subscriber_id",
        "delete",
        (),
        {"email": "email", "name": "contact_name", "company": "company"},
    ),
    Part("mailings", mailings, _mailings_of, "mailing_id", "delete"),
)


def _subscriber(
    world: World,
    sid: str,
    email: str,
    name: str,
    company: str,
    j: int,
    consented: bool,
    opted_out: bool,
    origin: str,
) -> dict:
    consented_at = world.when(j, 41, days=200)
    return {
        "subscriber_id": sid,
        "email": email,
        "contact_name": name,
        "company": company,
        "consented": consented,
        "consented_at": consented_at if consented else None,
        "opted_out": opted_out,
        "opted_out_at": consented_at + timedelta(days=300) if opted_out else None,
        "last_mailed_at": consented_at + timedelta(days=290),
        "origin": origin,
    }


def seed(world: World):
    def subscriber_rows():
        for i in range(world.customers):
            p = world.customer(i)
            yield _subscriber(
                world, f"MS{i:09d}", p.email, p.name, p.company, i, i % 10 != 0, i % 7 == 0, "collected"
            )

    def mailing_rows():
        for j in range(world.customers):
            yield {
                "subscriber_id": f"MS{world.owner(j, 42):09d}",
                "campaign": world.pick(CAMPAIGNS, j, 43),
                "advertising": j % 9 != 0,
                "sent_at": world.when(j, 44),
            }

    for batch in chunks(subscriber_rows()):
        yield subscribers, batch
    for batch in chunks(mailing_rows()):
        yield mailings, batch


def load_subject(conn: Connection, s: SubjectData, count: int, origin: Origin, world: World):
    """Replaces the subject's list entries: a list holds an address once per list."""
    email = normalise_email(s.email)
    conn.execute(delete(mailings).where(_mailings_of(SubjectIdentity(email=email))))
    conn.execute(delete(subscribers).where(subscribers.c.email == email))
    first = next_number(conn, subscribers, "subscriber_id", "MS", 9)
    for k in range(count):
        row = _subscriber(
            world,
            f"MS{first + k:09d}",
            email,
            s.name,
            s.company,
            first + k,
            s.consented,
            s.opted_out,
            origin.value,
        )
        sent = [row["consented_at"] + timedelta(days=30 * n) for n in range(1, 4)]
        if s.opted_out and s.mailed_after_opt_out:
            sent.append(row["opted_out_at"] + timedelta(days=14))
        row["last_mailed_at"] = max(sent)
        conn.execute(insert(subscribers).values(row))
        conn.execute(
            insert(mailings),
            [
                {
                    "subscriber_id": row["subscriber_id"],
                    "campaign": world.pick(CAMPAIGNS, n, 45),
                    "advertising": True,
                    "sent_at": at,
                }
                for n, at in enumerate(sent)
            ],
        )


DEF = DemoSystem(
    info=SystemInfo(
        key="marketing",
        name_ja="メール配信リスト",
        name_en="Marketing email list",
        categories=(
            Category(
                "subscriptions",
                "配信登録",
                "Subscriptions",
                ("メールアドレス", "担当者氏名", "企業名", "同意", "配信停止"),
            ),
            Category("mailings", "配信履歴", "Mailings sent", ("キャンペーン", "配信日時")),
        ),
        actions=frozenset(SystemAction) - {SystemAction.STOP_PROVISION},
    ),
    metadata=metadata,
    parts=PARTS,
    applied=applied_actions(metadata),
    seed=seed,
    load_subject=load_subject,
)

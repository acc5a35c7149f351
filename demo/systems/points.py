"""Campaign points (スイートポイント): granted to members who entered their login ID (§2.1 a).

Keyed by the points member id; the customer master knows which member id is whose.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, DateTime, Index, Integer, MetaData, String, Table, delete, insert

from demo.systems.common import DemoSystem, chunks
from demo.world import CAMPAIGNS, SubjectData, World, known
from models.rules.vocabulary import Origin, SystemAction
from systems.base import Category, Part, SystemInfo, applied_actions, by, record_columns

metadata = MetaData()
accounts = Table(
    "point_accounts",
    metadata,
    Column("member_id", String(16), primary_key=True),
    Column("holder_name", String(100)),
    Column("holder_company", String(200)),
    Column("balance", Integer, nullable=False),
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
    *record_columns(),
)
grants = Table(
    "point_grants",
    metadata,
    Column("grant_id", Integer, primary_key=True),
    Column("member_id", String(16), nullable=False),
    Column("campaign", String(100), nullable=False),
    Column("points", Integer, nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Index("ix_point_grants_member_id", "member_id"),
)

PARTS = (
    Part(
        "point_accounts",
        accounts,
        by(accounts.c.member_id, "member_ids"),
        "member_id",
        "delete",
        (),
        {"name": "holder_name", "company": "holder_company"},
    ),
    Part("point_grants", grants, by(grants.c.member_id, "member_ids"), "grant_id", "delete"),
)


def _grant(world: World, member_id: str, j: int) -> dict:
    return {
        "member_id": member_id,
        "campaign": world.pick(CAMPAIGNS, j, 51),
        "points": 50 * (1 + j % 20),
        "granted_at": world.when(j, 52),
    }


def seed(world: World):
    def account_rows():
        for i in range(world.customers):
            p = world.customer(i)
            if p.member_id:
                yield {
                    "member_id": p.member_id,
                    "holder_name": p.name,
                    "holder_company": p.company,
                    "balance": 50 * (i % 200),
                    "enrolled_at": world.when(i, 53),
                    "origin": "collected",
                }

    def grant_rows():
        for j in range(world.customers):
            member = world.customer(world.member_owner(j, 54)).member_id
            yield _grant(world, known(member), j)

    for batch in chunks(account_rows()):
        yield accounts, batch
    for batch in chunks(grant_rows()):
        yield grants, batch


def load_subject(conn: Connection, s: SubjectData, count: int, origin: Origin, world: World):
    """(Re)writes the member's account and adds ``count`` grants."""
    if not count:
        return
    new = [_grant(world, known(s.member_id), k) for k in range(count)]
    conn.execute(delete(accounts).where(accounts.c.member_id == s.member_id))
    conn.execute(
        insert(accounts).values(
            member_id=s.member_id,
            holder_name=s.name,
            holder_company=s.company,
            balance=sum(g["points"] for g in new),
            enrolled_at=world.when(count, 53),
            origin=origin.value,
        )
    )
    conn.execute(insert(grants), new)


DEF = DemoSystem(
    info=SystemInfo(
        key="points",
        name_ja="キャンペーンポイント",
        name_en="Campaign points",
        categories=(
            Category(
                "point_accounts", "ポイント会員", "Points membership", ("会員番号", "氏名", "企業名", "残高")
            ),
            Category(
                "point_grants", "ポイント付与履歴", "Points granted", ("キャンペーン", "ポイント", "付与日時")
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

"""Analytics (行動分析基盤): access, purchase and ad-view history (§2.1, first paragraph).

Events are keyed by visitor id (a cookie); a visitor is linked to a login id when the
person signs in. Restriction excludes the visitor from analysis; stopping provision stops
sharing ad-view data with advertising partners.
"""

from __future__ import annotations

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
    insert,
    select,
)

from demo.systems.common import DemoSystem, chunks, next_number
from demo.world import CAMPAIGNS, PATHS, PRODUCTS, SubjectData, World
from models.rules.vocabulary import Origin, SystemAction
from systems.base import Category, Part, SystemInfo, applied_actions, by, record_columns
from systems.identity import SubjectIdentity

metadata = MetaData()
visitors = Table(
    "visitor_links",
    metadata,
    Column("visitor_id", String(32), primary_key=True),
    Column("login_id", String(16)),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("device", String(16), nullable=False),
    *record_columns(provision=True),
    Index("ix_visitor_links_login_id", "login_id"),
)
page_views = Table(
    "page_views",
    metadata,
    Column("view_id", Integer, primary_key=True),
    Column("visitor_id", String(32), nullable=False),
    Column("viewed_at", DateTime(timezone=True), nullable=False),
    Column("path", String(200), nullable=False),
    Index("ix_page_views_visitor_id", "visitor_id"),
)
purchases = Table(
    "purchase_events",
    metadata,
    Column("event_id", Integer, primary_key=True),
    Column("visitor_id", String(32), nullable=False),
    Column("purchased_at", DateTime(timezone=True), nullable=False),
    Column("product_name", String(200), nullable=False),
    Column("amount", Integer, nullable=False),
    Index("ix_purchase_events_visitor_id", "visitor_id"),
)
ad_views = Table(
    "ad_views",
    metadata,
    Column("ad_view_id", Integer, primary_key=True),
    Column("visitor_id", String(32), nullable=False),
    Column("viewed_at", DateTime(timezone=True), nullable=False),
    Column("campaign", String(100), nullable=False),
    Column("placement", String(32), nullable=False),
    Column("clicked", Boolean, nullable=False),
    Index("ix_ad_views_visitor_id", "visitor_id"),
)

PARTS = (
    Part("visitor_links", visitors, by(visitors.c.login_id, "login_ids"), "visitor_id", "delete"),
    Part("page_views", page_views, by(page_views.c.visitor_id, "visitor_ids"), "view_id", "delete"),
    Part("purchase_history", purchases, by(purchases.c.visitor_id, "visitor_ids"), "event_id", "delete"),
    Part("ad_views", ad_views, by(ad_views.c.visitor_id, "visitor_ids"), "ad_view_id", "delete"),
)
PLACEMENTS = ("top_banner", "search_side", "mail_footer", "partner_network")
DEVICES = ("pc", "smartphone", "tablet")


def discover(conn: Connection, identity: SubjectIdentity) -> dict[str, set[str]]:
    if not identity.login_ids:
        return {}
    rows = conn.execute(
        select(visitors.c.visitor_id).where(visitors.c.login_id.in_(identity.login_ids))
    ).scalars()
    return {"visitor_ids": set(rows)}


def visitor_id(world: World, i: int) -> str:
    return f"{(i * 0x9E3779B97F4A7C15 + world.seed) % 2**64:016x}"


def _event(world: World, table: Table, visitor: str, j: int) -> dict:
    at = world.when(j, 71)
    if table is page_views:
        return {"visitor_id": visitor, "viewed_at": at, "path": world.pick(PATHS, j, 72)}
    if table is purchases:
        name, price = world.pick(PRODUCTS, j, 73)
        return {"visitor_id": visitor, "purchased_at": at, "product_name": name, "amount": price}
    return {
        "visitor_id": visitor,
        "viewed_at": at,
        "campaign": world.pick(CAMPAIGNS, j, 74),
        "placement": world.pick(PLACEMENTS, j, 75),
        "clicked": j % 13 == 0,
    }


def seed(world: World):
    n = world.customers

    def visitor_rows():
        for i in range(n):
            yield {
                "visitor_id": visitor_id(world, i),
                "login_id": world.customer(i).login_id,
                "first_seen_at": world.when(i, 76),
                "device": world.pick(DEVICES, i, 77),
                "origin": "collected",
            }

    for batch in chunks(visitor_rows()):
        yield visitors, batch
    # one event per customer on average: half page views, a fifth purchases, the rest ads
    for table, start, stop in (
        (page_views, 0, n // 2),
        (purchases, n // 2, n // 2 + n // 5),
        (ad_views, n // 2 + n // 5, n),
    ):
        rows = (_event(world, table, visitor_id(world, world.owner(j, 78)), j) for j in range(start, stop))
        for batch in chunks(rows):
            yield table, batch


def load_subject(conn: Connection, s: SubjectData, count: int, origin: Origin, world: World):
    """One linked visitor with ``count`` events spread over the three histories."""
    if not count:
        return
    visitor = f"fx{next_number(conn, visitors, 'visitor_id', 'fx', 14):014d}"  # not hex: no clash
    conn.execute(
        insert(visitors).values(
            visitor_id=visitor,
            login_id=s.login_id,
            first_seen_at=world.when(count, 76),
            device="pc",
            origin=origin.value,
        )
    )
    tables = (page_views, purchases, ad_views)
    for k in range(count):
        table = tables[k % 3]
        conn.execute(insert(table).values(_event(world, table, visitor, k)))


DEF = DemoSystem(
    info=SystemInfo(
        key="analytics",
        name_ja="行動分析基盤",
        name_en="Analytics",
        categories=(
            Category(
                "visitor_links",
                "閲覧者IDとログインIDの紐付け",
                "Visitor links",
                ("閲覧者ID", "ログインID", "端末"),
            ),
            Category("page_views", "アクセス履歴", "Access history", ("閲覧ページ", "日時")),
            Category("purchase_history", "購買履歴", "Purchase history", ("商品", "金額", "日時")),
            Category("ad_views", "広告閲覧履歴", "Ad-view history", ("キャンペーン", "掲載面", "クリック")),
        ),
        actions=frozenset(SystemAction) - {SystemAction.RECTIFY},
    ),
    metadata=metadata,
    parts=PARTS,
    applied=applied_actions(metadata),
    seed=seed,
    load_subject=load_subject,
    discover=discover,
)

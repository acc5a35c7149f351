"""Orders and deliveries (受注・配送): what was bought and where it went (§2.1 a, c).

Keyed by customer id; each order has a shipment number, the only key the delivery
contractor knows.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Column, Connection, DateTime, Index, Integer, MetaData, String, Table, insert, select

from demo.systems.common import DemoSystem, chunks, next_number
from demo.world import PRODUCTS, SubjectData, World, known, mix
from models.rules.vocabulary import Origin, SystemAction
from systems.base import Category, Part, SystemInfo, applied_actions, by, record_columns
from systems.identity import SubjectIdentity

metadata = MetaData()
orders = Table(
    "orders",
    metadata,
    Column("order_id", String(16), primary_key=True),
    Column("customer_id", String(16)),
    Column("ordered_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("total_amount", Integer, nullable=False),
    Column("delivery_company", String(200)),
    Column("delivery_name", String(100)),
    Column("delivery_phone", String(32)),
    Column("delivery_postal_code", String(10)),
    Column("delivery_address", String(300)),
    Column("shipment_no", String(16)),
    *record_columns(),
    Index("ix_orders_customer_id", "customer_id"),
    Index("ix_orders_shipment_no", "shipment_no"),
)
order_lines = Table(
    "order_lines",
    metadata,
    Column("line_id", Integer, primary_key=True),
    Column("order_id", String(16), nullable=False),
    Column("sku", String(16), nullable=False),
    Column("product_name", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Integer, nullable=False),
    Index("ix_order_lines_order_id", "order_id"),
)


def _lines_of(identity: SubjectIdentity):
    if not identity.customer_ids:
        return None
    owned = select(orders.c.order_id).where(orders.c.customer_id.in_(identity.customer_ids))
    return order_lines.c.order_id.in_(owned)


PARTS = (
    Part(
        "orders",
        orders,
        by(orders.c.customer_id, "customer_ids"),
        "order_id",
        "anonymise",
        (
            "customer_id",
            "delivery_company",
            "delivery_name",
            "delivery_phone",
            "delivery_postal_code",
            "delivery_address",
            "shipment_no",
        ),
        {
            "name": "delivery_name",
            "phone": "delivery_phone",
            "company": "delivery_company",
            "delivery_address": "delivery_address",
        },
        active=("ordered_at",),
    ),
    Part("order_lines", order_lines, _lines_of, "line_id", "keep"),
)


def discover(conn: Connection, identity: SubjectIdentity) -> dict[str, set[str]]:
    if not identity.customer_ids:
        return {}
    rows = conn.execute(
        select(orders.c.order_id, orders.c.shipment_no).where(orders.c.customer_id.in_(identity.customer_ids))
    ).all()
    return {"order_ids": {r.order_id for r in rows}, "shipment_nos": {r.shipment_no for r in rows}}


def shipment_no(j: int) -> str:
    return f"{400000000000 + j:012d}"


def _order(
    world: World, order_id: str, customer, j: int, shipment: str, origin: str, until: date | None = None
) -> dict:
    return {
        "order_id": order_id,
        "customer_id": customer.customer_id,
        "ordered_at": world.when(j, 22, until=until),
        "status": "delivered",
        "total_amount": 0,
        "delivery_company": customer.company,
        "delivery_name": customer.name,
        "delivery_phone": customer.phone,
        "delivery_postal_code": customer.postal_code,
        "delivery_address": customer.billing_address,
        "shipment_no": shipment,
        "origin": origin,
    }


def _lines(world: World, order_id: str, j: int) -> list[dict]:
    """One line, two for every third order."""
    lines = []
    for k in range(1 + (j % 3 == 0)):
        sku = mix(j + k, 23) % len(PRODUCTS)
        name, price = PRODUCTS[sku]
        lines.append(
            {
                "order_id": order_id,
                "sku": f"SKU{sku:05d}",
                "product_name": name,
                "quantity": 1 + (j * 7 + k * 3) % 5,
                "unit_price": price,
            }
        )
    return lines


def seed(world: World):
    def rows():
        for j in range(world.customers):
            customer = world.customer(world.owner(j, 21))
            order = _order(world, f"ORD{j:010d}", customer, j, shipment_no(j), "collected")
            lines = _lines(world, order["order_id"], j)
            order["total_amount"] = sum(x["quantity"] * x["unit_price"] for x in lines)
            yield order, lines

    for batch in chunks(rows()):
        yield orders, [o for o, _ in batch]
        yield order_lines, [line for _, lines in batch for line in lines]


def load_subject(conn: Connection, s: SubjectData, count: int, origin: Origin, world: World):
    first = next_number(conn, orders, "order_id", "ORD", 10)
    ship = next_number(conn, orders, "shipment_no", "", 12)
    customer = world.customer(0)._replace(
        customer_id=known(s.customer_id),
        name=s.name,
        company=s.company,
        phone=s.phone,
        billing_address=s.billing_address or world.customer(0).billing_address,
    )
    for k in range(count):
        order_id, shipment = f"ORD{first + k:010d}", f"{ship + k:012d}"
        order = _order(world, order_id, customer, first + k, shipment, origin.value, s.closed_on)
        lines = _lines(world, order_id, first + k)
        order["total_amount"] = sum(x["quantity"] * x["unit_price"] for x in lines)
        conn.execute(insert(orders).values(order))
        conn.execute(insert(order_lines), lines)
        s.order_ids.append(order_id)
        s.shipment_nos.append(shipment)


DEF = DemoSystem(
    info=SystemInfo(
        key="orders",
        name_ja="受注・配送管理",
        name_en="Orders and deliveries",
        categories=(
            Category(
                "orders",
                "注文・お届け先",
                "Orders and delivery addresses",
                ("注文日時", "お届け先氏名", "お届け先電話番号", "お届け先住所", "配送伝票番号"),
            ),
            Category("order_lines", "注文明細", "Order lines", ("商品", "数量", "金額")),
        ),
        actions=frozenset(SystemAction) - {SystemAction.STOP_PROVISION},
    ),
    metadata=metadata,
    parts=PARTS,
    applied=applied_actions(metadata),
    seed=seed,
    load_subject=load_subject,
    discover=discover,
)

"""The delivery contractor's consignee data (配送委託先), keyed by shipment number.

This is the contractor's own database; madoguchi reaches it only through the partner API
in ``systems/contractor.py``, which keeps its own request ledger (``partner_requests``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Column, Connection, DateTime, MetaData, String, Table, delete, insert

from demo.systems.common import DemoSystem, chunks
from demo.systems.orders import shipment_no
from demo.world import Customer, SubjectData, World
from models.rules.vocabulary import Origin, SystemAction
from systems.base import Category, Part, SystemInfo, applied_actions, by, record_columns

metadata = MetaData()
consignments = Table(
    "consignments",
    metadata,
    Column("shipment_no", String(16), primary_key=True),
    Column("consignee_company", String(200)),
    Column("consignee_name", String(100)),
    Column("consignee_phone", String(32)),
    Column("consignee_postal_code", String(10)),
    Column("consignee_address", String(300)),
    Column("shipped_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("received_by", String(100)),
    *record_columns(),
)

PARTS = (
    Part(
        "consignments",
        consignments,
        by(consignments.c.shipment_no, "shipment_nos"),
        "shipment_no",
        "delete",
        (),
        {
            "name": "consignee_name",
            "phone": "consignee_phone",
            "company": "consignee_company",
            "delivery_address": "consignee_address",
        },
    ),
)
CONTRACTOR = "株式会社配送パートナー"


def _consignment(world: World, shipment: str, p: Customer, j: int, origin: str) -> dict:
    shipped = world.when(j, 22) + timedelta(hours=20)
    return {
        "shipment_no": shipment,
        "consignee_company": p.company,
        "consignee_name": p.name,
        "consignee_phone": p.phone,
        "consignee_postal_code": p.postal_code,
        "consignee_address": p.billing_address,
        "shipped_at": shipped,
        "delivered_at": shipped + timedelta(days=1),
        "received_by": p.name.split(" ")[0],
        "origin": origin,
    }


def seed(world: World):
    rows = (
        _consignment(world, shipment_no(j), world.customer(world.owner(j, 21)), j, "collected")
        for j in range(world.customers)
    )
    for batch in chunks(rows):
        yield consignments, batch


def load_subject(conn: Connection, s: SubjectData, count: int, origin: Origin, world: World):
    """Consignments for the subject's latest ``count`` shipments (older ones already purged)."""
    p = world.customer(0)._replace(
        name=s.name,
        company=s.company,
        phone=s.phone,
        billing_address=s.billing_address or world.customer(0).billing_address,
    )
    for k, shipment in enumerate(s.shipment_nos[-count:] if count else []):
        conn.execute(delete(consignments).where(consignments.c.shipment_no == shipment))
        conn.execute(insert(consignments).values(_consignment(world, shipment, p, k, origin.value)))


DEF = DemoSystem(
    info=SystemInfo(
        key="delivery_contractor",
        name_ja="配送委託先",
        name_en="Delivery contractor",
        categories=(
            Category(
                "consignments",
                "配送伝票（お届け先）",
                "Consignments",
                ("配送伝票番号", "お届け先氏名", "電話番号", "住所", "受領者"),
            ),
        ),
        actions=frozenset(SystemAction) - {SystemAction.STOP_PROVISION},
        contractor=CONTRACTOR,
    ),
    metadata=metadata,
    parts=PARTS,
    applied=applied_actions(metadata, "partner_requests"),
    seed=seed,
    load_subject=load_subject,
)

"""Billing (請求): billing accounts and invoices (§2.1 b).

Bookkeeping records must be kept for seven years under the Corporation Tax Act, so this
system refuses erasure; the registry entry carries the duty and the domain turns an
erasure into a restriction.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Column, Connection, DateTime, Index, Integer, MetaData, String, Table, delete, insert

from demo.systems.common import DemoSystem, chunks, next_number
from demo.world import SubjectData, World, known
from models.rules.vocabulary import Origin, SystemAction
from systems.base import (
    Category,
    Part,
    RetentionDuty,
    SystemInfo,
    applied_actions,
    by,
    record_columns,
)

metadata = MetaData()
accounts = Table(
    "billing_accounts",
    metadata,
    Column("account_no", String(16), primary_key=True),
    Column("company", String(200)),
    Column("department", String(100)),
    Column("contact_name", String(100)),
    Column("postal_code", String(10)),
    Column("address", String(300)),
    *record_columns(),
)
invoices = Table(
    "invoices",
    metadata,
    Column("invoice_no", String(20), primary_key=True),
    Column("account_no", String(16), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("amount", Integer, nullable=False),
    Column("tax", Integer, nullable=False),
    Column("paid_at", DateTime(timezone=True)),
    *record_columns(),
    Index("ix_invoices_account_no", "account_no"),
)

PARTS = (
    Part(
        "billing_accounts",
        accounts,
        by(accounts.c.account_no, "billing_accounts"),
        "account_no",
        "keep",
        (),
        {
            "name": "contact_name",
            "company": "company",
            "billing_department": "department",
            "billing_address": "address",
        },
    ),
    Part(
        "invoices",
        invoices,
        by(invoices.c.account_no, "billing_accounts"),
        "invoice_no",
        "keep",
        active=("issued_at", "paid_at"),
    ),
)


def _invoice(
    world: World, invoice_no: str, account_no: str, j: int, origin: str, until: date | None = None
) -> dict:
    issued = world.when(j, 32, until=until)
    amount = 1000 + (j * 7919) % 120_000
    return {
        "invoice_no": invoice_no,
        "account_no": account_no,
        "issued_at": issued,
        "due_at": issued + timedelta(days=30),
        "amount": amount,
        "tax": amount // 10,
        "paid_at": issued + timedelta(days=20) if j % 11 else None,
        "origin": origin,
    }


def seed(world: World):
    def account_rows():
        for i in range(world.customers):
            p = world.customer(i)
            yield {
                "account_no": p.billing_account,
                "company": p.company,
                "department": p.billing_department,
                "contact_name": p.name,
                "postal_code": p.postal_code,
                "address": p.billing_address,
                "origin": "collected",
            }

    def invoice_rows():
        for j in range(world.customers):
            owner = world.customer(world.owner(j, 31))
            yield _invoice(world, f"INV-{j:010d}", owner.billing_account, j, "collected")

    for batch in chunks(account_rows()):
        yield accounts, batch
    for batch in chunks(invoice_rows()):
        yield invoices, batch


def load_subject(conn: Connection, s: SubjectData, count: int, origin: Origin, world: World):
    """(Re)writes the subject's billing account, then adds ``count`` invoices."""
    p = world.customer(0)
    conn.execute(delete(accounts).where(accounts.c.account_no == s.billing_account))
    conn.execute(
        insert(accounts).values(
            account_no=s.billing_account,
            company=s.company,
            department=s.billing_department or p.billing_department,
            contact_name=s.name,
            postal_code=p.postal_code,
            address=s.billing_address or p.billing_address,
            origin=origin.value,
        )
    )
    first = next_number(conn, invoices, "invoice_no", "INV-", 10)
    for k in range(count):
        conn.execute(
            insert(invoices).values(
                _invoice(
                    world,
                    f"INV-{first + k:010d}",
                    known(s.billing_account),
                    first + k,
                    origin.value,
                    s.closed_on,
                )
            )
        )


DEF = DemoSystem(
    info=SystemInfo(
        key="billing",
        name_ja="請求管理",
        name_en="Billing",
        categories=(
            Category(
                "billing_accounts",
                "請求先",
                "Billing accounts",
                ("企業名", "請求先部署名", "担当者氏名", "請求先住所"),
            ),
            Category("invoices", "請求書", "Invoices", ("請求番号", "請求日", "金額", "入金日")),
        ),
        actions=frozenset({SystemAction.EXPORT, SystemAction.RECTIFY, SystemAction.RESTRICT}),
        retention=RetentionDuty(
            law_ja="法人税法（帳簿書類の保存義務）",
            law_en="Corporation Tax Act (bookkeeping records)",
            years=7,
            basis="法人税法第126条・同法施行規則第59条",
        ),
    ),
    metadata=metadata,
    parts=PARTS,
    applied=applied_actions(metadata),
    seed=seed,
    load_subject=load_subject,
)

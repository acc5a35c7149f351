"""Customer master (顧客マスタ): the contact person behind each business account (§1.1 a).

The only system that knows the email; it hands out the customer id, login id, phone,
billing account and points member id that the other systems are keyed by.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Date,
    Index,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    update,
)

from demo.systems.common import DemoSystem, chunks, next_number
from demo.world import SubjectData, World
from models.rules.vocabulary import Origin, SystemAction
from systems.base import Category, Part, SystemInfo, applied_actions, by, record_columns
from systems.identity import SubjectIdentity, normalise_email, phone_digits

metadata = MetaData()
customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(16), primary_key=True),
    Column("login_id", String(16), unique=True),
    Column("company", String(200)),
    Column("contact_name", String(100)),
    Column("email", String(254)),
    Column("phone", String(32)),
    Column("industry", String(64)),
    Column("title", String(64)),
    Column("job_type", String(64)),
    Column("billing_department", String(100)),
    Column("billing_address", String(300)),
    Column("postal_code", String(10)),
    Column("billing_account_no", String(16)),
    Column("points_member_id", String(16)),
    Column("closed_on", Date),  # the day the customer closed the account (退会日)
    *record_columns(provision=True),
    Index("ix_customers_email", "email"),
    Index("ix_customers_phone", "phone"),
)

IDENTIFYING = (
    "login_id",
    "company",
    "contact_name",
    "email",
    "phone",
    "title",
    "job_type",
    "billing_department",
    "billing_address",
    "postal_code",
    "billing_account_no",
    "points_member_id",
)
FIELDS = {
    "name": "contact_name",
    "email": "email",
    "phone": "phone",
    "company": "company",
    "login_id": "login_id",
    "industry": "industry",
    "title": "title",
    "job_type": "job_type",
    "billing_department": "billing_department",
    "billing_address": "billing_address",
}

PARTS = (
    Part(
        "customer_profile",
        customers,
        by(customers.c.email, "emails"),
        "customer_id",
        "anonymise",
        IDENTIFYING,
        FIELDS,
        closed="closed_on",
    ),
)


def discover(conn: Connection, identity: SubjectIdentity) -> dict[str, set[str]]:
    c = customers.c
    rows = conn.execute(
        select(c.customer_id, c.login_id, c.phone, c.billing_account_no, c.points_member_id).where(
            c.email == identity.email
        )
    ).all()
    return {
        "customer_ids": {r.customer_id for r in rows},
        "login_ids": {r.login_id for r in rows},
        "phones": {r.phone for r in rows},
        "billing_accounts": {r.billing_account_no for r in rows},
        "member_ids": {r.points_member_id for r in rows},
    }


def registered_emails(conn: Connection, login_id: str | None, phone: str | None) -> list[str]:
    """The email of each record holding every detail given: the login ID, and the phone by its
    digits (stored numbers are written with the separators a phone field allows)."""
    c = customers.c
    conditions: list[ColumnElement[bool]] = [c.email.is_not(None)]
    if login_id:
        conditions.append(c.login_id == login_id)
    digits = phone_digits(phone or "")
    if digits:
        stored: ColumnElement[str] = c.phone
        for separator in "-+() ":
            stored = func.replace(stored, separator, "")
        conditions.append(stored == digits)
    if len(conditions) == 1:
        return []
    return list(conn.execute(select(c.email).where(*conditions)).scalars())


def seed(world: World):
    def rows():
        for i in range(world.customers):
            p = world.customer(i)
            yield {
                "customer_id": p.customer_id,
                "login_id": p.login_id,
                "company": p.company,
                "contact_name": p.name,
                "email": p.email,
                "phone": p.phone,
                "industry": p.industry,
                "title": p.title,
                "job_type": p.job_type,
                "billing_department": p.billing_department,
                "billing_address": p.billing_address,
                "postal_code": p.postal_code,
                "billing_account_no": p.billing_account,
                "points_member_id": p.member_id,
                "origin": Origin.COLLECTED.value,
            }

    for batch in chunks(rows()):
        yield customers, batch


def login_holder(conn: Connection, login_id: str) -> str | None:
    """The email of the customer who logs in as ``login_id``, if any (logins are unique)."""
    return conn.execute(select(customers.c.email).where(customers.c.login_id == login_id)).scalar()


def load_subject(conn: Connection, s: SubjectData, count: int, origin: Origin, world: World):
    """Insert or refresh the subject's master row; fills in the keys other systems need."""
    c = customers.c
    existing = conn.execute(
        select(c.customer_id, c.billing_account_no, c.points_member_id).where(
            c.email == normalise_email(s.email)
        )
    ).first()
    if existing:
        s.customer_id = existing.customer_id
    else:
        s.customer_id = f"C{next_number(conn, customers, 'customer_id', 'C', 9):09d}"
    number = int(s.customer_id[1:])
    s.billing_account = (existing and existing.billing_account_no) or f"BA{number:08d}"
    s.member_id = (existing and existing.points_member_id) or f"SP{number:010d}"
    s.login_id = s.login_id or f"A{number % 10_000_000:07d}"
    p = world.customer(number % max(world.customers, 1))
    values = {
        "login_id": s.login_id,
        "company": s.company,
        "contact_name": s.name,
        "email": normalise_email(s.email),
        "phone": s.phone,
        "industry": s.industry or p.industry,
        "title": s.title or p.title,
        "job_type": s.job_type or p.job_type,
        "billing_department": s.billing_department or p.billing_department,
        "billing_address": s.billing_address or p.billing_address,
        "postal_code": p.postal_code,
        "billing_account_no": s.billing_account,
        "points_member_id": s.member_id,
        "closed_on": s.closed_on,
        "origin": origin.value,
        "restricted_at": None,
        "provision_stopped_at": None,
        "erased_at": None,
    }
    if existing:
        conn.execute(update(customers).where(c.customer_id == s.customer_id).values(values))
    else:
        conn.execute(insert(customers).values(customer_id=s.customer_id, **values))


DEF = DemoSystem(
    info=SystemInfo(
        key="customers",
        name_ja="顧客マスタ",
        name_en="Customer master",
        categories=(
            Category(
                "customer_profile",
                "お客様情報",
                "Customer profile",
                (
                    "企業名",
                    "担当者氏名",
                    "メールアドレス",
                    "電話番号",
                    "業種",
                    "役職",
                    "職種",
                    "請求先部署名",
                    "請求先住所",
                    "ログインID",
                    "退会日",
                ),
            ),
        ),
        actions=frozenset(SystemAction),
    ),
    metadata=metadata,
    parts=PARTS,
    applied=applied_actions(metadata),
    seed=seed,
    load_subject=load_subject,
    discover=discover,
    registered_email=registered_emails,
)

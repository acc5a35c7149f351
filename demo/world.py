"""One deterministic fake world shared by every demo system.

Faker is slow (tens of microseconds a value) and a million customers need tens of millions
of values, so a :class:`World` draws small pools from ``Faker("ja_JP")`` once and combines
them with the row index. Every system computes "customer i" the same way without reading
another system's database, which lets the systems be seeded in parallel and still agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

from faker import Faker

POOL = 1024  # a power of two: pool indexes are bit slices of one hash
MASK = POOL - 1
M64 = 2**64 - 1
EPOCH = datetime(2024, 4, 1, tzinfo=UTC)

INDUSTRIES = (
    "製造業",
    "卸売業",
    "小売業",
    "建設業",
    "情報通信業",
    "医療・福祉",
    "教育・学習支援業",
    "不動産業",
    "運輸業",
    "飲食サービス業",
    "士業",
    "宿泊業",
)
TITLES = ("代表取締役", "取締役", "部長", "課長", "係長", "主任", "担当", "店長", "院長", "所長")
JOB_TYPES = ("総務", "経理", "購買", "営業", "人事", "情報システム", "製造", "事務", "企画")
DEPARTMENTS = ("経理部", "総務部", "財務部", "管理部", "経理課", "総務課", "本社経理")
PRODUCTS = (
    ("A4コピー用紙 500枚×5冊", 2480),
    ("ボールペン 黒 10本", 880),
    ("クリアファイル 100枚", 1320),
    ("トイレットペーパー 96ロール", 4980),
    ("ミネラルウォーター 2L×6本", 798),
    ("付箋 75×75mm 10冊", 650),
    ("プリンタートナー 黒", 12800),
    ("ゴミ袋 45L 100枚", 1180),
    ("マスク 50枚", 498),
    ("段ボール箱 10枚", 1650),
    ("ハンドソープ 詰替 2L", 1480),
    ("電卓 12桁", 1980),
)
CAMPAIGNS = (
    "春の新生活応援",
    "夏のまとめ買い",
    "秋の事務用品フェア",
    "年末大掃除",
    "決算セール",
    "新規登録特典",
)
PATHS = (
    "/",
    "/search?q=コピー用紙",
    "/category/stationery",
    "/category/cleaning",
    "/cart",
    "/mypage/orders",
    "/campaign/spring",
    "/product/A4-500x5",
    "/help/delivery",
)
AREAS = ("03", "06", "045", "052", "011", "092", "090", "080", "070")


class Customer(NamedTuple):
    customer_id: str
    login_id: str
    email: str
    name: str
    company: str
    phone: str
    industry: str
    title: str
    job_type: str
    billing_department: str
    billing_address: str
    postal_code: str
    billing_account: str
    member_id: str | None


@dataclass
class SubjectData:
    """One subject being loaded from a fixture, and the keys each system gives it."""

    email: str
    name: str
    company: str
    phone: str
    login_id: str | None = None
    industry: str | None = None
    title: str | None = None
    job_type: str | None = None
    billing_department: str | None = None
    billing_address: str | None = None
    customer_id: str | None = None
    billing_account: str | None = None
    member_id: str | None = None
    shipment_nos: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    consented: bool = True
    opted_out: bool = False
    mailed_after_opt_out: bool = False
    closed_on: date | None = None  # the account was closed then: its records are older


def mix64(i: int, salt: int) -> int:
    h = ((i + 1) * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9) & M64
    h ^= h >> 31
    return (h * 0x94D049BB133111EB) & M64


def mix(j: int, salt: int) -> int:
    """A cheap deterministic hash: spreads row j over customers without a random stream."""
    h = ((j + 1) * 0x9E3779B1 + salt * 0x85EBCA77) & 0xFFFFFFFF
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
    return h ^ (h >> 12)


@lru_cache(maxsize=4)
def _pools(seed: int) -> dict[str, tuple[str, ...]]:
    """Faker's share of the work, done once per seed and process (it is the slow part)."""
    fake = Faker("ja_JP")
    fake.seed_instance(seed)
    draws = {
        "last_names": fake.last_name,
        "first_names": fake.first_name,
        "companies": fake.company,
        "addresses": fake.address,
        "postcodes": fake.postcode,
        "users": fake.user_name,
        "domains": fake.domain_name,
    }
    pools = {name: tuple(draw() for _ in range(POOL)) for name, draw in draws.items()}
    pools["agents"] = tuple(fake.last_name() for _ in range(32))
    return pools


def known(key: str | None) -> str:
    """A key that is set by now: the customer master gives a fixture's subject its keys before
    the other systems load it, and a ``member_owner`` is a member."""
    if key is None:
        raise ValueError("a subject's key is read before the customer master gave it")
    return key


class World:
    # Faker's pools (_pools), one attribute each
    last_names: tuple[str, ...]
    first_names: tuple[str, ...]
    companies: tuple[str, ...]
    addresses: tuple[str, ...]
    postcodes: tuple[str, ...]
    users: tuple[str, ...]
    domains: tuple[str, ...]
    agents: tuple[str, ...]

    def __init__(self, customers: int, seed: int = 0):
        self.customers = customers
        self.seed = seed
        for name, pool in _pools(seed).items():
            setattr(self, name, pool)

    def pick(self, pool, j: int, salt: int):
        return pool[mix(j, salt) % len(pool)]

    def owner(self, j: int, salt: int) -> int:
        """Which customer row j of some table belongs to."""
        return mix(j, salt) % self.customers

    def when(self, j: int, salt: int, days: int = 700, until: date | None = None) -> datetime:
        """A moment in the ``days`` after the epoch, or in the ``days`` before ``until``."""
        start = EPOCH if until is None else datetime.combine(until, time(), UTC) - timedelta(days=days)
        return start + timedelta(seconds=mix(j, salt) % (days * 86400))

    def customer(self, i: int) -> Customer:
        """Customer i, from two hashes sliced into pool indexes (this is the hot path)."""
        h, g = mix64(i, 1), mix64(i, 2)
        return Customer(
            customer_id=f"C{i:09d}",
            login_id=f"K{i:07d}",
            email=f"{self.users[h & MASK]}{i}@{self.domains[(h >> 10) & MASK]}",
            name=f"{self.last_names[(h >> 20) & MASK]} {self.first_names[(h >> 30) & MASK]}",
            company=self.companies[(h >> 40) & MASK],
            phone=f"{AREAS[g % len(AREAS)]}-{(i // 10000) % 10000:04d}-{i % 10000:04d}",
            industry=INDUSTRIES[(g >> 8) % len(INDUSTRIES)],
            title=TITLES[(g >> 16) % len(TITLES)],
            job_type=JOB_TYPES[(g >> 24) % len(JOB_TYPES)],
            billing_department=DEPARTMENTS[(g >> 32) % len(DEPARTMENTS)],
            billing_address=self.addresses[(h >> 50) & MASK],
            postal_code=self.postcodes[(g >> 40) & MASK],
            billing_account=f"BA{i:08d}",
            member_id=f"SP{i:010d}" if i % 5 else None,
        )

    def member_owner(self, j: int, salt: int) -> int:
        """A customer who has a points membership (every customer not divisible by 5)."""
        i = self.owner(j, salt)
        if i % 5 == 0:
            i = i + 1 if i + 1 < self.customers else i - 1
        return i

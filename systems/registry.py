"""Which systems hold personal data, what each holds, and how to reach it.

Built from settings and the systems' definitions, which ``deployments/registry.py`` (the
composition root) chooses; nothing connects until a connector is used. ``wrap`` lets a caller
put something around every connector (latency, fault injection: ``demo/faults.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine, Table, func, select

from models.settings import Settings
from systems import db
from systems.base import SystemDef, SystemInfo
from systems.connector import DatabaseConnector, translated
from systems.contractor import ContractorConnector, DeliveryPartnerAPI
from systems.protocol import Connector

Wrap = Callable[[str, Connector], Connector]
Extra = Callable[[], Mapping[str, SystemDef]]  # systems registered at run time (contractors)
T = TypeVar("T")


class Registry:
    def __init__(
        self,
        settings: Settings,
        definitions: Mapping[str, SystemDef],
        *,
        wrap: Wrap | None = None,
        extra: Extra | None = None,
    ):
        self.settings = settings
        self._fixed = definitions
        self._wrap = wrap
        self._extra = extra
        self._connectors: dict[str, Connector] = {}

    def _definitions(self) -> Mapping[str, SystemDef]:
        """The systems it was built with, then those registered at run time (``extra``, asked
        each time)."""
        return {**self._fixed, **self._extra()} if self._extra else self._fixed

    def keys(self) -> tuple[str, ...]:
        return tuple(self._definitions())

    def __iter__(self) -> Iterator[SystemInfo]:
        return (d.info for d in self._definitions().values())

    def info(self, key: str) -> SystemInfo:
        return self.definition(key).info

    def definition(self, key: str) -> SystemDef:
        definition = self._fixed.get(key) or (self._extra() if self._extra else {}).get(key)
        if definition is None:
            raise KeyError(f"no system registered under {key!r}")
        return definition

    def url(self, key: str) -> str:
        self.definition(key)
        return self.settings.system_database_url(key)

    def connector(self, key: str) -> Connector:
        if key not in self._fixed:
            self.definition(key)  # one registered at run time may have left (access revoked)
        if key not in self._connectors:
            definition = self.definition(key)
            direct = DatabaseConnector(definition, self.url(key))
            connector: Connector = direct
            if definition.info.contractor:
                connector = ContractorConnector(key, DeliveryPartnerAPI(direct), definition.info.actions)
            self._connectors[key] = self._wrap(key, connector) if self._wrap else connector
        return self._connectors[key]

    def database(self, key: str) -> DatabaseConnector:
        """Direct access to a demo system's own database (seeding, fixtures, tests)."""
        return DatabaseConnector(self.definition(key), self.url(key))

    def table(self, key: str, name: str) -> tuple[Engine, Table]:
        """One table of a system's own database and its engine, read in bulk where no subject
        is located first: the customer master's accounts, for notices to every customer."""
        definition = self.definition(key)
        return db.ensure_schema(self.url(key), definition.metadata), definition.metadata.tables[name]

    def across(self, call: Callable[[str, Connector], T], keys: Iterable[str] | None = None) -> dict[str, T]:
        """``call(key, connector)`` for every system at once, in registry order: systems are
        slow to answer rather than heavy, so asking them one after another only adds waiting."""
        keys = tuple(self.keys() if keys is None else keys)
        if not keys:
            return {}
        with ThreadPoolExecutor(max_workers=len(keys)) as pool:
            return dict(zip(keys, pool.map(lambda key: call(key, self.connector(key)), keys), strict=False))

    def dispose(self) -> None:
        self._connectors.clear()
        db.dispose()


def row_counts(registry: Registry, key: str) -> dict[str, int]:
    definition = registry.definition(key)
    engine = db.ensure_schema(registry.url(key), definition.metadata)
    with translated(key, "count"), engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in definition.metadata.sorted_tables
            if t is not definition.applied
        }


def summary(registry: Registry) -> list[dict[str, Any]]:
    """Per system of ``registry`` (e.g. with the registered contractors): key, names,
    categories, retention duty, contractor, actions, row counts."""
    out = []
    for info in registry:
        entry = info.to_dict()
        entry["categories"] = [
            {"key": c.key, "name_ja": c.name_ja, "name_en": c.name_en, "items_ja": list(c.items_ja)}
            for c in info.categories
        ]
        entry["rows"] = row_counts(registry, info.key)
        out.append(entry)
    return out

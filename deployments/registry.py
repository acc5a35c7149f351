"""The composition root of the systems holding personal data: the one place that says which
systems the registry holds and what is put around their connectors.

Here the systems are the eight demo systems (``demo/systems``), and a contractor registered
at run time is reached like the demo's delivery partner. Latency and injected faults are put
around the connectors only when the settings ask for them (``demo/faults.py``). Everything
else receives the registry built here; production packages never import ``demo``
(tests/test_boundaries.py names this module as the one exception).
"""

from __future__ import annotations

import threading

from demo.systems import DEFINITIONS
from models.settings import Settings, get_settings
from services.contractors import category_catalogue, registered_systems
from services.fulfilment import ACTING
from systems.base import SystemDef
from systems.protocol import Connector
from systems.registry import Extra, Registry, Wrap

CONTRACTOR_TEMPLATE = "delivery_contractor"  # how a registered contractor's system is reached


def build_registry(
    settings: Settings | None = None, *, wrap: Wrap | None = None, extra: Extra | None = None
) -> Registry:
    """A registry of the demo systems (and of ``extra``, asked each time), for one command or
    one test; :func:`registry_for` is the one a process keeps."""
    return Registry(settings or get_settings(), DEFINITIONS, wrap=wrap, extra=extra)


def contractor_systems(settings: Settings) -> dict[str, SystemDef]:
    """The active registered contractors, as systems of the registry."""
    catalogue = category_catalogue(d.info for d in DEFINITIONS.values())
    return registered_systems(settings, DEFINITIONS[CONTRACTOR_TEMPLATE], catalogue)


def faults(settings: Settings) -> Wrap | None:
    """The fault injection the settings ask for (latency on every call, failures on actions
    only: locating the subject stays reliable, so the fault budget is spent where fulfilment
    retries it), or None."""
    latency, failing, rate = (
        settings.system_latency_seconds,
        settings.system_faults,
        settings.system_fault_rate,
    )
    if not (latency or failing or rate):
        return None
    from demo.faults import Faulty

    def wrap(key: str, connector: Connector) -> Connector:
        return Faulty(connector, latency=latency, fail_first=failing.get(key, 0), fail_rate=rate, only=ACTING)

    return wrap


_registries: dict[str, Registry] = {}
_registries_lock = threading.Lock()


def registry_for(settings: Settings) -> Registry:
    """The registry this process uses, one per configuration, so that "fail the first N calls"
    counts across retries: the demo systems and the active registered contractors, with the
    faults the settings ask for."""
    cache_key = settings.model_dump_json()
    with _registries_lock:
        registry = _registries.get(cache_key)
        if registry is None:
            registry = build_registry(
                settings, wrap=faults(settings), extra=lambda: contractor_systems(settings)
            )
            for key in registry.keys():  # built here, under the lock: one fault budget each
                registry.connector(key)
            _registries[cache_key] = registry
        return registry

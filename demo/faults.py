"""Simulated latency and failures around any connector, for demos and resilience tests.

Use as the registry's ``wrap``: ``build_registry(s, wrap=lambda key, c: Faulty(c, fail_first=2))``;
``deployments/registry.py`` puts it around every connector when the settings ask for faults.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Collection
from typing import Any

from systems.protocol import Connector, TransientSystemError

CALLS = ("locate", "export", "rectify", "erase", "restrict", "stop_provision")


class Faulty:
    """The same protocol as ``inner``; each call waits ``latency`` seconds, and of the calls
    named in ``only`` the first ``fail_first``, then a ``fail_rate`` share of the others, raise
    :class:`TransientSystemError` before reaching ``inner``."""

    def __init__(
        self,
        inner: Connector,
        *,
        latency: float = 0.0,
        fail_first: int = 0,
        fail_rate: float = 0.0,
        only: Collection[str] = CALLS,
    ):
        self.inner, self.key = inner, inner.key
        self.latency, self.failures_left, self.fail_rate = latency, fail_first, fail_rate
        self.only = only
        self.calls = 0
        self._lock = threading.Lock()
        self._random = random.Random(inner.key)

    def _gate(self, name: str) -> None:
        if self.latency:
            time.sleep(self.latency)
        if name not in self.only:
            return
        with self._lock:
            self.calls += 1
            failing = self.failures_left > 0
            self.failures_left -= failing
            failing = failing or (self.fail_rate > 0 and self._random.random() < self.fail_rate)
        if failing:
            raise TransientSystemError(self.key, f"{name}: injected fault")

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if name not in CALLS:
            return target  # discover, actions: passed through untouched

        def call(*args: Any, **kwargs: Any) -> Any:
            self._gate(name)
            return target(*args, **kwargs)

        return call

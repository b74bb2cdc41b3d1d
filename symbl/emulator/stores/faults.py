"""Fault injection: make chosen requests slow, fail, or lose their connection (no HTTP here).

A rule matches requests by method and a glob over the path (``/v1/job/*``). It can add latency,
answer with a status, body and headers of its choosing (``429`` with ``Retry-After``, ``503``,
...), or drop the connection without answering. ``times`` limits how many requests it affects
and ``probability`` makes it hit only a share of them, drawn from a seeded generator so runs
repeat.
"""

from __future__ import annotations

import fnmatch
import itertools
import random
from dataclasses import asdict, dataclass, field
from typing import Any

_rule_ids = itertools.count(1)


@dataclass
class FaultRule:
    """One fault. With neither ``status`` nor ``drop`` it only adds ``delay``."""

    path: str = "*"
    method: str = "*"
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    times: int | None = None
    probability: float = 1.0
    id: int = field(default_factory=lambda: next(_rule_ids))

    def __post_init__(self) -> None:
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status}")
        if self.delay < 0 or not 0.0 <= self.probability <= 1.0:
            raise ValueError("delay must be >= 0 and probability between 0 and 1")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for every request)")
        self.method = self.method.upper()

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule applies to a request."""
        return (self.method in ("*", method)) and fnmatch.fnmatchcase(path, self.path)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view for the admin API."""
        return asdict(self)


class FaultPlan:
    """The active rules, consulted in the order they were added."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[FaultRule] = []
        self._random = random.Random(seed)

    def add(self, rule: FaultRule) -> FaultRule:
        """Activate a rule."""
        self._rules.append(rule)
        return rule

    def rules(self) -> list[FaultRule]:
        """The rules still active."""
        return list(self._rules)

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        """Return the first rule that hits this request, using up one of its ``times``."""
        for rule in self._rules:
            if not rule.matches(method, path):
                continue
            if rule.probability < 1.0 and self._random.random() >= rule.probability:
                continue
            if rule.times is not None:
                rule.times -= 1
                if rule.times == 0:
                    self._rules.remove(rule)
            return rule
        return None

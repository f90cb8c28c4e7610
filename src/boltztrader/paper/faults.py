"""The fault plan: what a paper broker does wrong on purpose, set through ``/_paper/faults``.

A plan is a list of rules plus stream settings, as JSON::

    {"seed": 1,
     "rules": [{"op": "place_order", "action": "error_after", "account": null,
                "probability": 1, "count": 1, "status": 503}],
     "stream": {"duplicate": 0.2, "delay_ms": 300, "reorder": 0.1, "disconnect_every": 0}}

Rule ``op``: ``place_order``, ``cancel_order``, ``get_order``, ``list_orders``, ``account``,
``market_data`` or ``*``. ``account`` limits a rule to one paper account id (null: every account).
``probability`` (0..1, default 1) and ``count`` (how many times it may fire; null: no limit).

Actions, in the order a request meets them:

- ``latency``: wait ``latency_ms`` before acting.
- ``rate_limit``: answer 429 (the broker's own body) with Retry-After ``retry_after_s``; nothing done.
- ``ban``: answer 418 (Binance's IP ban) with Retry-After; nothing done.
- ``error_before``: answer ``status`` (default 503) before acting; nothing done.
- ``error_after``: act, then answer ``status`` (default 500) instead of the result.
- ``hold_after``: act, then hold the response ``hold_ms`` (past the client's timeout).
- ``drop_after``: act, then drop the connection without an answer.

Stream settings apply to every event pushed to a stream subscriber: ``duplicate`` and ``reorder``
are probabilities, ``delay_ms`` delays each event, ``disconnect_every`` N > 0 closes a subscriber's
stream after every N events (fills keep happening while it is down).

Pure and seeded: the same plan and the same sequence of requests make the same decisions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

OPS = frozenset({"place_order", "cancel_order", "get_order", "list_orders", "account", "market_data", "*"})


class Action(StrEnum):
    LATENCY = "latency"
    RATE_LIMIT = "rate_limit"
    BAN = "ban"
    ERROR_BEFORE = "error_before"
    ERROR_AFTER = "error_after"
    HOLD_AFTER = "hold_after"
    DROP_AFTER = "drop_after"


BEFORE = frozenset({Action.LATENCY, Action.RATE_LIMIT, Action.BAN, Action.ERROR_BEFORE})
AFTER = frozenset({Action.ERROR_AFTER, Action.HOLD_AFTER, Action.DROP_AFTER})


class BadFaultPlan(ValueError):
    """The plan's JSON does not describe a valid plan; the message says which field."""


@dataclass(slots=True)
class Rule:
    op: str
    action: Action
    account: str | None = None
    probability: Decimal = Decimal(1)
    count: int | None = None
    status: int | None = None
    latency_ms: int = 0
    hold_ms: int = 0
    retry_after_s: int = 1
    fired: int = 0

    def matches(self, op: str, account: str | None) -> bool:
        if self.op not in ("*", op):
            return False
        if self.account is not None and self.account != account:
            return False
        return self.count is None or self.fired < self.count


@dataclass(frozen=True, slots=True)
class Decision:
    """One fault to apply to this request."""

    action: Action
    status: int = 0
    seconds: float = 0.0  # latency, hold or Retry-After


@dataclass(slots=True)
class StreamFaults:
    duplicate: Decimal = Decimal(0)
    reorder: Decimal = Decimal(0)
    delay_ms: int = 0
    disconnect_every: int = 0

    @property
    def active(self) -> bool:
        return bool(self.duplicate or self.reorder or self.delay_ms or self.disconnect_every)


@dataclass(slots=True)
class FaultPlan:
    rules: list[Rule] = field(default_factory=list)
    stream: StreamFaults = field(default_factory=StreamFaults)
    seed: int = 0
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @classmethod
    def parse(cls, data: Any) -> FaultPlan:
        """Build a plan from decoded JSON; BadFaultPlan names the first bad field."""
        if not isinstance(data, dict):
            raise BadFaultPlan("a fault plan is a JSON object with 'rules' and/or 'stream'")
        unknown = set(data) - {"rules", "stream", "seed"}
        if unknown:
            raise BadFaultPlan(f"unknown field {sorted(unknown)[0]!r} (known: rules, stream, seed)")
        rules = [_rule(i, raw) for i, raw in enumerate(data.get("rules") or [])]
        return cls(rules=rules, stream=_stream(data.get("stream") or {}), seed=_int(data, "seed", 0))

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "rules": [
                {"op": r.op, "action": r.action.value, "account": r.account,
                 "probability": str(r.probability), "count": r.count, "status": r.status,
                 "latency_ms": r.latency_ms, "hold_ms": r.hold_ms, "retry_after_s": r.retry_after_s,
                 "fired": r.fired}
                for r in self.rules
            ],
            "stream": {"duplicate": str(self.stream.duplicate), "reorder": str(self.stream.reorder),
                       "delay_ms": self.stream.delay_ms, "disconnect_every": self.stream.disconnect_every},
        }

    def before(self, op: str, account: str | None) -> list[Decision]:
        """Faults to apply before acting: latency first, then at most one refusal."""
        return self._decide(op, account, BEFORE)

    def after(self, op: str, account: str | None) -> list[Decision]:
        """Faults to apply after acting (at most one)."""
        return self._decide(op, account, AFTER)

    def roll(self, probability: Decimal) -> bool:
        """A seeded coin: True with ``probability``."""
        return probability > 0 and (probability >= 1 or Decimal(self._rng.random()) < probability)

    def _decide(self, op: str, account: str | None, allowed: frozenset[Action]) -> list[Decision]:
        decisions: list[Decision] = []
        refused = False
        for rule in self.rules:
            if rule.action not in allowed or not rule.matches(op, account):
                continue
            if rule.action is not Action.LATENCY and refused:
                continue
            if not self.roll(rule.probability):
                continue
            rule.fired += 1
            decisions.append(_decision(rule))
            refused = refused or rule.action is not Action.LATENCY
        decisions.sort(key=lambda d: d.action is not Action.LATENCY)
        return decisions


def _decision(rule: Rule) -> Decision:
    if rule.action is Action.LATENCY:
        return Decision(rule.action, seconds=rule.latency_ms / 1000)
    if rule.action in (Action.RATE_LIMIT, Action.BAN):
        return Decision(rule.action, status=429 if rule.action is Action.RATE_LIMIT else 418,
                        seconds=float(rule.retry_after_s))
    if rule.action is Action.HOLD_AFTER:
        return Decision(rule.action, seconds=rule.hold_ms / 1000)
    default = 503 if rule.action is Action.ERROR_BEFORE else 500
    return Decision(rule.action, status=rule.status or default)


def _rule(index: int, raw: Any) -> Rule:
    where = f"rules[{index}]"
    if not isinstance(raw, dict):
        raise BadFaultPlan(f"{where} must be an object")
    known = {"op", "action", "account", "probability", "count", "status", "latency_ms", "hold_ms",
             "retry_after_s"}
    unknown = set(raw) - known
    if unknown:
        raise BadFaultPlan(f"{where}: unknown field {sorted(unknown)[0]!r}")
    op = raw.get("op", "*")
    if op not in OPS:
        raise BadFaultPlan(f"{where}.op must be one of {', '.join(sorted(OPS))}")
    try:
        action = Action(str(raw.get("action")))
    except ValueError:
        raise BadFaultPlan(f"{where}.action must be one of {', '.join(a.value for a in Action)}") from None
    probability = _decimal(raw, "probability", Decimal(1), where)
    if not Decimal(0) <= probability <= Decimal(1):
        raise BadFaultPlan(f"{where}.probability must be between 0 and 1")
    count = raw.get("count")
    if count is not None and (not isinstance(count, int) or count < 0):
        raise BadFaultPlan(f"{where}.count must be a non-negative integer or null")
    account = raw.get("account")
    if account is not None and not isinstance(account, str):
        raise BadFaultPlan(f"{where}.account must be a string or null")
    status = raw.get("status")
    if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
        raise BadFaultPlan(f"{where}.status must be an HTTP error status (400-599)")
    return Rule(op=op, action=action, account=account, probability=probability, count=count, status=status,
                latency_ms=_int(raw, "latency_ms", 0, where), hold_ms=_int(raw, "hold_ms", 0, where),
                retry_after_s=_int(raw, "retry_after_s", 1, where))


def _stream(raw: Any) -> StreamFaults:
    if not isinstance(raw, dict):
        raise BadFaultPlan("stream must be an object")
    unknown = set(raw) - {"duplicate", "reorder", "delay_ms", "disconnect_every"}
    if unknown:
        raise BadFaultPlan(f"stream: unknown field {sorted(unknown)[0]!r}")
    duplicate = _decimal(raw, "duplicate", Decimal(0), "stream")
    reorder = _decimal(raw, "reorder", Decimal(0), "stream")
    for name, value in (("duplicate", duplicate), ("reorder", reorder)):
        if not Decimal(0) <= value <= Decimal(1):
            raise BadFaultPlan(f"stream.{name} must be between 0 and 1")
    return StreamFaults(duplicate=duplicate, reorder=reorder, delay_ms=_int(raw, "delay_ms", 0, "stream"),
                        disconnect_every=_int(raw, "disconnect_every", 0, "stream"))


def _int(raw: dict[str, Any], key: str, default: int, where: str = "plan") -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadFaultPlan(f"{where}.{key} must be a non-negative integer")
    return value


def _decimal(raw: dict[str, Any], key: str, default: Decimal, where: str) -> Decimal:
    value = raw.get(key, default)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise BadFaultPlan(f"{where}.{key} must be a number") from None
    if not number.is_finite():
        raise BadFaultPlan(f"{where}.{key} must be finite")
    return number

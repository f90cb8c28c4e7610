"""The fault plan parses strictly and decides reproducibly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from boltztrader.paper.faults import Action, BadFaultPlan, FaultPlan


def test_a_counted_rule_fires_exactly_count_times() -> None:
    """A rule with count 2 fires on the first two matching requests and never again."""
    plan = FaultPlan.parse({"rules": [{"op": "place_order", "action": "error_after", "count": 2}]})
    fired = [bool(plan.after("place_order", "A1")) for _ in range(5)]
    assert fired == [True, True, False, False, False]


def test_rules_match_only_their_op_and_account() -> None:
    """A rule for one op and one account leaves other ops and accounts alone."""
    plan = FaultPlan.parse({"rules": [{"op": "cancel_order", "account": "A1", "action": "error_before"}]})
    assert plan.before("place_order", "A1") == []
    assert plan.before("cancel_order", "A2") == []
    decisions = plan.before("cancel_order", "A1")
    assert [(d.action, d.status) for d in decisions] == [(Action.ERROR_BEFORE, 503)]


def test_latency_comes_first_and_only_one_refusal_applies() -> None:
    """Latency is applied before a refusal, and two refusals never both apply to one request."""
    plan = FaultPlan.parse({"rules": [
        {"op": "*", "action": "rate_limit", "retry_after_s": 3},
        {"op": "*", "action": "error_before"},
        {"op": "*", "action": "latency", "latency_ms": 250},
    ]})
    decisions = plan.before("place_order", None)
    assert [d.action for d in decisions] == [Action.LATENCY, Action.RATE_LIMIT]
    assert decisions[0].seconds == 0.25
    assert (decisions[1].status, decisions[1].seconds) == (429, 3.0)


def test_same_seed_gives_the_same_decisions() -> None:
    """Two plans with the same seed and probability make the same sequence of decisions."""
    spec = {"seed": 42, "rules": [{"op": "*", "action": "error_after", "probability": "0.3"}]}
    first, second = FaultPlan.parse(spec), FaultPlan.parse(spec)
    runs = [[bool(plan.after("place_order", None)) for _ in range(200)] for plan in (first, second)]
    assert runs[0] == runs[1]
    assert 20 < sum(runs[0]) < 100


@pytest.mark.parametrize(
    ("plan", "fragment"),
    [
        ({"rules": [{"action": "explode"}]}, "rules[0].action"),
        ({"rules": [{"action": "latency", "op": "transfer"}]}, "rules[0].op"),
        ({"rules": [{"action": "latency", "probability": 2}]}, "probability"),
        ({"rules": [{"action": "error_after", "status": 200}]}, "status"),
        ({"stream": {"duplicate": "often"}}, "stream.duplicate"),
        ({"rulez": []}, "unknown field 'rulez'"),
        ([], "JSON object"),
    ],
)
def test_bad_plans_are_refused_naming_the_field(plan: object, fragment: str) -> None:
    """An invalid plan raises BadFaultPlan whose message names the offending field."""
    with pytest.raises(BadFaultPlan) as caught:
        FaultPlan.parse(plan)
    assert fragment in str(caught.value)


def test_plan_round_trips_through_its_json_view() -> None:
    """The JSON view of a parsed plan parses back to the same rules (minus the fired counters)."""
    spec = {"seed": 3, "rules": [{"op": "place_order", "action": "hold_after", "hold_ms": 9000, "count": 1}],
            "stream": {"duplicate": "0.5", "delay_ms": 100}}
    view = FaultPlan.parse(spec).to_json()
    rules = [{k: v for k, v in rule.items() if k != "fired"} for rule in view["rules"]]
    again = FaultPlan.parse(view | {"rules": rules})
    assert again.to_json() == view
    assert again.stream.duplicate == Decimal("0.5")

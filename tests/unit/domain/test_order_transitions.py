"""The transition table: terminal statuses absorb, every status is covered and can finish."""

from collections import deque

import pytest

from boltztrader.domain.enums import ExecutionMode
from boltztrader.domain.order_states import (
    STALE_EVENTS,
    TERMINAL,
    TRANSITIONS,
    OrderEvent,
    OrderStatus,
    allowed_events,
    initial_status,
    is_stale,
    next_status,
)
from boltztrader.errors import InvalidTransition

S = OrderStatus
E = OrderEvent
NON_TERMINAL = [s for s in S if s not in TERMINAL]


def reachable_from(start: OrderStatus) -> set[OrderStatus]:
    seen, queue = {start}, deque([start])
    while queue:
        current = queue.popleft()
        for (source, _event), target in TRANSITIONS.items():
            if source is current and target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def test_terminal_set_is_exactly_the_six_final_statuses() -> None:
    """Filled, cancelled, expired, rejected, denied and declined are terminal; nothing else is."""
    assert {S.FILLED, S.CANCELLED, S.EXPIRED, S.REJECTED, S.DENIED, S.DECLINED} == TERMINAL
    assert all(s.is_terminal for s in TERMINAL)


@pytest.mark.parametrize("status", sorted(TERMINAL))
@pytest.mark.parametrize("event", list(E))
def test_terminal_statuses_absorb_every_event(status: OrderStatus, event: OrderEvent) -> None:
    """Any event on a terminal status raises InvalidTransition, duplicates included."""
    with pytest.raises(InvalidTransition) as info:
        next_status(status, event)
    assert info.value.current == status
    assert info.value.event == event


def test_no_transition_leaves_a_terminal_status() -> None:
    """The table has no row whose source is terminal."""
    assert not [key for key in TRANSITIONS if key[0] in TERMINAL]


def test_every_status_appears_in_the_table() -> None:
    """Each status is a source or a target of some transition: none is dead text."""
    mentioned = {source for source, _ in TRANSITIONS} | set(TRANSITIONS.values())
    assert mentioned == set(S)


@pytest.mark.parametrize("status", NON_TERMINAL)
def test_every_non_terminal_status_can_reach_a_terminal_one(status: OrderStatus) -> None:
    """No order can be stuck forever: some path leads from each live status to a final one."""
    assert reachable_from(status) & TERMINAL


def test_every_status_is_reachable_from_an_initial_status() -> None:
    """Starting from pending_submit or pending_approval, every status can occur."""
    starts = {initial_status(mode) for mode in ExecutionMode}
    assert set().union(*(reachable_from(s) for s in starts)) == set(S)


def test_initial_status_depends_on_execution_mode() -> None:
    """Semi-manual orders wait for approval; automated ones wait for a submit worker."""
    assert initial_status(ExecutionMode.SEMI_MANUAL) is S.PENDING_APPROVAL
    assert initial_status(ExecutionMode.AUTOMATED) is S.PENDING_SUBMIT


@pytest.mark.parametrize(
    ("current", "event", "expected"),
    [
        (S.PENDING_APPROVAL, E.APPROVE, S.PENDING_SUBMIT),
        (S.PENDING_APPROVAL, E.APPROVAL_EXPIRED, S.DECLINED),
        (S.PENDING_APPROVAL, E.DENY, S.DENIED),
        (S.PENDING_SUBMIT, E.SUBMIT_STARTED, S.SUBMITTING),
        (S.SUBMITTING, E.NOT_SENT, S.PENDING_SUBMIT),
        (S.SUBMITTING, E.OUTCOME_UNKNOWN, S.UNKNOWN),
        (S.SUBMITTING, E.FILL, S.FILLED),
        (S.UNKNOWN, E.RESOLVED_OPEN, S.OPEN),
        (S.UNKNOWN, E.ACCEPTED, S.OPEN),
        (S.UNKNOWN, E.PARTIAL_FILL, S.PARTIALLY_FILLED),
        (S.UNKNOWN, E.CANCELLED, S.CANCELLED),
        (S.UNKNOWN, E.RESOLVED_NOT_FOUND, S.REJECTED),
        (S.OPEN, E.EXPIRED, S.EXPIRED),
        (S.OPEN, E.REJECTED, S.REJECTED),
        (S.PENDING_CANCEL, E.PARTIAL_FILL, S.PENDING_CANCEL),
        (S.PENDING_CANCEL, E.FILL, S.FILLED),
        (S.PENDING_CANCEL, E.CANCEL_REJECTED, S.OPEN),
        (S.PENDING_CANCEL, E.CANCEL_REJECTED_WITH_FILLS, S.PARTIALLY_FILLED),
    ],
)
def test_key_transitions(current: OrderStatus, event: OrderEvent, expected: OrderStatus) -> None:
    """The transitions the architecture names lead where it says."""
    assert next_status(current, event) is expected


@pytest.mark.parametrize(
    ("current", "event"),
    [
        (S.PENDING_SUBMIT, E.ACCEPTED),
        (S.PENDING_SUBMIT, E.FILL),
        (S.UNKNOWN, E.NOT_SENT),
        (S.UNKNOWN, E.SUBMIT_STARTED),
        (S.OPEN, E.APPROVE),
        (S.OPEN, E.NOT_SENT),
        (S.PENDING_APPROVAL, E.SUBMIT_STARTED),
    ],
)
def test_events_outside_the_table_raise(current: OrderStatus, event: OrderEvent) -> None:
    """In particular an unknown order is never sent again and nothing skips approval."""
    with pytest.raises(InvalidTransition, match="not in the transition table"):
        next_status(current, event)


def test_stale_events_are_never_transitions() -> None:
    """An echo that the order ignores cannot also be a row of the table."""
    assert not STALE_EVENTS & TRANSITIONS.keys()
    assert is_stale(S.OPEN, E.ACCEPTED)
    assert is_stale(S.FILLED, E.ACCEPTED)
    assert not is_stale(S.OPEN, E.FILL)


def test_allowed_events_matches_the_table() -> None:
    """Listing the events of a status agrees with next_status for every event."""
    for status in S:
        for event in E:
            if event in allowed_events(status):
                next_status(status, event)
            else:
                with pytest.raises(InvalidTransition):
                    next_status(status, event)
    assert allowed_events(S.FILLED) == frozenset()

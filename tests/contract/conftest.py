"""Run every contract scenario against every adapter, each on its own paper broker."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest

from boltztrader.paper.venue import VenueConfig

from ..paper import conftest as paper_conftest
from ..paper.conftest import RunningPaper
from .harness import Harness

BROKERS = ("kite", "binance", "alpaca")

paper_factory = paper_conftest.paper_factory  # the paper brokers' fixture, shared with this suite


def load(name: str) -> Harness:
    """A fresh harness for ``name`` (from tests/contract/harness_<name>.py)."""
    module = importlib.import_module(f"tests.contract.harness_{name}")
    harness: Harness = module.HARNESS()
    return harness


@pytest.fixture(params=BROKERS)
def harness(request: pytest.FixtureRequest,
            paper_factory: Callable[..., RunningPaper]) -> Harness:
    """A started harness: paper broker running, account funded and logged in."""
    h = load(request.param)
    h.start(paper_factory, VenueConfig(tick_seconds=0))
    return h


@pytest.fixture(params=BROKERS)
def partial_harness(request: pytest.FixtureRequest,
                    paper_factory: Callable[..., RunningPaper]) -> Harness:
    """A started harness whose paper broker splits every fill into three."""
    from boltztrader.paper.engine import EngineConfig

    h = load(request.param)
    h.start(paper_factory, VenueConfig(tick_seconds=0, engine=EngineConfig(fill_parts=3)))
    return h

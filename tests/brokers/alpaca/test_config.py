"""AlpacaConfig: hosts for paper and live, overrides, and the paper-key / live-host guards."""

from __future__ import annotations

from typing import Any

import pytest

from boltztrader.brokers.alpaca import AlpacaBroker, AlpacaConfig
from boltztrader.brokers.alpaca.errors import AlpacaConfigError
from boltztrader.domain.secrets import Secret
from boltztrader.errors import ConfigError

SECRET = Secret("s3cr3t-value-for-config-tests")


def test_paper_config_uses_the_paper_hosts() -> None:
    """paper=True resolves to the paper trading host, its stream, and the shared data host."""
    config = AlpacaConfig("PKTEST123", SECRET, paper=True)
    assert config.trading_url == "https://paper-api.alpaca.markets"
    assert config.resolved_stream_url == "wss://paper-api.alpaca.markets/stream"
    assert config.resolved_data_url == "https://data.alpaca.markets"


def test_live_config_uses_the_live_hosts() -> None:
    """paper=False resolves to the live trading host and its stream."""
    config = AlpacaConfig("AKLIVE123", SECRET, paper=False)
    assert config.trading_url == "https://api.alpaca.markets"
    assert config.resolved_stream_url == "wss://api.alpaca.markets/stream"
    assert config.resolved_data_url == "https://data.alpaca.markets"


def test_a_paper_key_is_refused_for_live() -> None:
    """A key starting with PK (an Alpaca paper key) with paper=False is refused at construction."""
    with pytest.raises(AlpacaConfigError) as caught:
        AlpacaConfig("PKABCDEF", SECRET, paper=False)
    assert isinstance(caught.value, ConfigError)
    assert isinstance(caught.value, ValueError)
    assert "PKABCDEF" not in str(caught.value)


def test_a_paper_key_is_refused_for_live_even_with_an_override() -> None:
    """The PK guard holds whatever base_url says: a paper key never goes out with paper=False."""
    with pytest.raises(AlpacaConfigError):
        AlpacaConfig("PKABCDEF", SECRET, paper=False, base_url="http://127.0.0.1:7103")


@pytest.mark.parametrize("overrides", [
    {"base_url": "https://api.alpaca.markets"},
    {"base_url": "https://API.alpaca.markets/"},
    {"stream_url": "wss://api.alpaca.markets/stream"},
    {"data_url": "https://api.alpaca.markets"},
])
def test_paper_true_with_the_live_host_is_refused(overrides: dict[str, Any]) -> None:
    """paper=True pointed at the live host (trading, stream or data) is refused at construction."""
    with pytest.raises(AlpacaConfigError):
        AlpacaConfig("PKTEST123", SECRET, paper=True, **overrides)


def test_live_config_pointed_at_the_paper_host_is_refused() -> None:
    """paper=False pointed at the paper host is a mix-up and is refused."""
    with pytest.raises(AlpacaConfigError):
        AlpacaConfig("AKLIVE123", SECRET, paper=False, base_url="https://paper-api.alpaca.markets")


def test_an_override_serves_data_and_stream_from_the_same_origin() -> None:
    """With base_url (our paper broker) the data API and the stream default to that origin."""
    config = AlpacaConfig("abc123", SECRET, base_url="http://127.0.0.1:7103/")
    assert config.trading_url == "http://127.0.0.1:7103"
    assert config.resolved_data_url == "http://127.0.0.1:7103"
    assert config.resolved_stream_url == "ws://127.0.0.1:7103/stream"


@pytest.mark.parametrize("overrides", [
    {"base_url": "ftp://example.com"},
    {"base_url": "https://example.com/v2"},
    {"base_url": "https://example.com?x=1"},
    {"stream_url": "https://example.com/stream"},
    {"data_feed": "bogus"},
    {"reconnect_min": 0},
])
def test_malformed_settings_are_refused(overrides: dict[str, Any]) -> None:
    """A URL of the wrong scheme or shape, an unknown feed or a zero backoff is refused."""
    with pytest.raises(AlpacaConfigError):
        AlpacaConfig("abc123", SECRET, **overrides)


def test_the_secret_must_be_a_secret() -> None:
    """A plain string secret is refused, so it cannot show up in a repr."""
    with pytest.raises(AlpacaConfigError):
        AlpacaConfig("abc123", "plain-text")  # type: ignore[arg-type]


def test_repr_hides_the_secret_and_most_of_the_key() -> None:
    """Neither the config's nor the adapter's repr shows the secret or the full key id."""
    config = AlpacaConfig("PKVISIBLEKEY", SECRET)
    for text in (repr(config), str(config), repr(AlpacaBroker(config))):
        assert SECRET.reveal() not in text
        assert "PKVISIBLEKEY" not in text
        assert "paper=True" in text

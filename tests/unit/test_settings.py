"""Settings: the seed's variables, BOLTZ_* additions, and one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from boltztrader.errors import ConfigError
from boltztrader.settings import DEFAULT_DATABASE_URL, RunMode, load_settings


def test_defaults_are_paper_mode_on_embedded_sqlite_with_binance_default() -> None:
    """With an empty environment the process runs in paper mode on ./boltz.db, BROKER_DEFAULT binance."""
    settings = load_settings({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.mode is RunMode.PAPER
    assert settings.broker_default == "binance"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_seed_variable_names_are_read() -> None:
    """The seed's Z_*, BINANCE_*, ALPACA_* and BROKER_DEFAULT variables are honoured."""
    settings = load_settings({
        "Z_API_KEY": "kite-key", "Z_API_SECRET": "kite-secret", "Z_ACCESS_TOKEN": "kite-token",
        "BINANCE_API_KEY": "bn-key", "BINANCE_API_SECRET": "bn-secret",
        "ALPACA_API_KEY": "ap-key", "ALPACA_API_SECRET": "ap-secret", "BROKER_DEFAULT": "KITE",
    })
    assert settings.broker_default == "zerodha"
    assert settings.z_api_key == "kite-key"
    assert settings.z_api_secret is not None
    assert settings.z_api_secret.get_secret_value() == "kite-secret"
    assert settings.alpaca_api_secret is not None
    assert settings.alpaca_api_secret.get_secret_value() == "ap-secret"


def test_secrets_do_not_appear_in_the_repr() -> None:
    """A settings object printed or logged never shows a secret's value."""
    settings = load_settings({"BINANCE_API_SECRET": "s3cr3t-value", "Z_ACCESS_TOKEN": "t0ken-value",
                              "BOLTZ_MASTER_KEY": "m4ster-value"})
    text = repr(settings) + str(settings) + str(settings.model_dump())
    for secret in ("s3cr3t-value", "t0ken-value", "m4ster-value"):
        assert secret not in text


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"BOLTZ_DATABSE_URL": "sqlite:///x.db"}, "unknown setting BOLTZ_DATABSE_URL"),
        ({"BOLTZ_DATABASE_URL": "mysql://root@localhost/db"}, "unsupported database 'mysql'"),
        ({"BOLTZ_DATABASE_URL": "::not a url::"}, "malformed database URL"),
        ({"BOLTZ_MODE": "live"}, "live mode needs a master key"),
        ({"BOLTZ_MODE": "casino"}, "invalid setting BOLTZ_MODE"),
        ({"BROKER_DEFAULT": "NYSE"}, "invalid setting BROKER_DEFAULT"),
        ({"BOLTZ_PORT": "70000"}, "invalid setting BOLTZ_PORT"),
    ],
)
def test_bad_input_is_one_clear_config_error(environ: dict[str, str], fragment: str) -> None:
    """Each kind of bad setting raises ConfigError with a single line that names the problem."""
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message


def test_live_mode_with_a_master_key_file_starts(tmp_path: Path) -> None:
    """Live mode is accepted once a master key file that exists is configured."""
    key = tmp_path / "master.key"
    key.write_text("k" * 44)
    settings = load_settings({"BOLTZ_MODE": "LIVE", "BOLTZ_MASTER_KEY_FILE": str(key)})
    assert settings.mode is RunMode.LIVE


def test_command_line_overrides_win_over_the_environment() -> None:
    """A flag given to a command replaces the environment's value for that setting."""
    settings = load_settings({"BOLTZ_PORT": "9000"}, port=9100, database_url=None)
    assert settings.port == 9100


def test_a_password_in_a_bad_database_url_is_not_echoed() -> None:
    """The error for an unsupported database URL does not repeat the URL's password."""
    with pytest.raises(ConfigError) as caught:
        load_settings({"BOLTZ_DATABASE_URL": "oracle://scott:tiger-pw@db/orcl"})
    assert "tiger-pw" not in str(caught.value)

"""Process settings from the environment (and an optional ``.env`` file).

Read only by ``wiring`` and ``cli``. The seed's variable names are kept as they were
(Z_API_KEY, BINANCE_API_KEY, ALPACA_API_KEY, BROKER_DEFAULT, ...); everything BoltzTrader adds
is named BOLTZ_*. An unknown BOLTZ_* variable is an error rather than a silent typo.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from boltztrader.accounts.keyring import parse_master_keys
from boltztrader.db.engine import normalize_url
from boltztrader.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./boltz.db"
BROKER_ALIASES = {"kite": "zerodha", "zerodha": "zerodha", "binance": "binance", "alpaca": "alpaca"}


class Role(StrEnum):
    """What a service process does: ``all`` (API and trading, one process), ``api`` (the API and the
    intake: intents are written and the workers are woken, nothing is sent), ``worker`` (trading
    on the accounts whose lease it holds, no API: ``boltz worker``)."""

    ALL = "all"
    API = "api"
    WORKER = "worker"


class RunMode(StrEnum):
    """``paper`` trades only on the paper brokers; ``live`` may reach real brokers."""

    PAPER = "paper"
    LIVE = "live"


def _env(*names: str) -> Any:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Everything the process reads from its environment, validated once at start-up."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="forbid", frozen=True, populate_by_name=False,
        case_sensitive=True,
    )

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias=_env("BOLTZ_DATABASE_URL"))
    host: str = Field("127.0.0.1", validation_alias=_env("BOLTZ_HOST"))
    port: int = Field(8000, ge=1, le=65535, validation_alias=_env("BOLTZ_PORT"))
    mode: RunMode = Field(RunMode.PAPER, validation_alias=_env("BOLTZ_MODE"))
    log_level: str = Field("info", validation_alias=_env("BOLTZ_LOG_LEVEL"))
    master_key: SecretStr | None = Field(None, validation_alias=_env("BOLTZ_MASTER_KEY"))
    master_key_file: Path | None = Field(None, validation_alias=_env("BOLTZ_MASTER_KEY_FILE"))
    # Old master keys, comma-separated: they only decrypt, until `boltz keys rotate` has re-wrapped
    # every stored credential under the current key.
    previous_master_keys: SecretStr | None = Field(None, validation_alias=_env("BOLTZ_PREVIOUS_MASTER_KEYS"))
    broker_default: str = Field("binance", validation_alias=_env("BROKER_DEFAULT"))
    # Where paper accounts trade: the paper brokers (``boltz paper serve`` ports by default; the
    # demo starts them inside the service). Alpaca paper may point at Alpaca's own paper API.
    paper_kite_url: str = Field("http://127.0.0.1:7101", validation_alias=_env("BOLTZ_PAPER_KITE_URL"))
    paper_binance_url: str = Field("http://127.0.0.1:7102", validation_alias=_env("BOLTZ_PAPER_BINANCE_URL"))
    paper_alpaca_url: str = Field("http://127.0.0.1:7103", validation_alias=_env("BOLTZ_PAPER_ALPACA_URL"))
    # The demo: embedded paper brokers, a demo user with one paper account each, the demo model.
    demo: bool = Field(False, validation_alias=_env("BOLTZ_DEMO"))
    # API requests per second per caller (token, or address without one), and the burst allowed.
    rate_limit: float = Field(20.0, ge=0, validation_alias=_env("BOLTZ_RATE_LIMIT"))
    rate_burst: int = Field(60, ge=1, validation_alias=_env("BOLTZ_RATE_BURST"))
    # How long a fetched balance serves the risk guard (0: ask the broker for every signal).
    balance_max_age_seconds: float = Field(15.0, ge=0, validation_alias=_env("BOLTZ_BALANCE_MAX_AGE"))
    # Several processes on one PostgreSQL: this process's role, how long an account lease lasts
    # without renewal (a killed worker's accounts move after this), and the Binance request weight
    # per minute that every worker behind one egress IP shares (6,000 less a fifth of margin).
    role: Role = Field(Role.ALL, validation_alias=_env("BOLTZ_ROLE"))
    lease_ttl: float = Field(10.0, ge=1.0, le=300.0, validation_alias=_env("BOLTZ_LEASE_TTL"))
    binance_weight_per_minute: int = Field(4800, ge=1,
                                           validation_alias=_env("BOLTZ_BINANCE_WEIGHT_PER_MINUTE"))

    z_api_key: str | None = Field(None, validation_alias=_env("Z_API_KEY"))
    z_api_secret: SecretStr | None = Field(None, validation_alias=_env("Z_API_SECRET"))
    z_access_token: SecretStr | None = Field(None, validation_alias=_env("Z_ACCESS_TOKEN"))
    binance_api_key: str | None = Field(None, validation_alias=_env("BINANCE_API_KEY"))
    binance_api_secret: SecretStr | None = Field(None, validation_alias=_env("BINANCE_API_SECRET"))
    alpaca_api_key: str | None = Field(None, validation_alias=_env("ALPACA_API_KEY"))
    alpaca_api_secret: SecretStr | None = Field(None, validation_alias=_env("ALPACA_API_SECRET"))

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings reads the environment itself (so that tests can pass one in); the
        # process environment is therefore not a source here, only the .env file is.
        return (init_settings, dotenv_settings)

    @field_validator("broker_default", mode="before")
    @classmethod
    def _known_broker(cls, value: Any) -> str:
        key = str(value).strip().lower()
        if key not in BROKER_ALIASES:
            raise ValueError(f"must be one of ZERODHA (or KITE), BINANCE, ALPACA, not {value!r}")
        return BROKER_ALIASES[key]

    @field_validator("mode", mode="before")
    @classmethod
    def _lower_mode(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: Any) -> str:
        level = str(value).strip().lower()
        if level not in ("critical", "error", "warning", "info", "debug"):
            raise ValueError("must be one of critical, error, warning, info, debug")
        return level

    @field_validator("previous_master_keys")
    @classmethod
    def _valid_previous_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            parse_master_keys(value.get_secret_value(), source="the list")
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        try:
            normalize_url(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value


KNOWN_VARIABLES = frozenset(
    str(name)
    for field in Settings.model_fields.values()
    if isinstance(field.validation_alias, AliasChoices)
    for name in field.validation_alias.choices
)


def load_settings(
    environ: Mapping[str, str] | None = None, *, env_file: Path | None = Path(".env"), **overrides: Any
) -> Settings:
    """Read and validate settings; any problem becomes one clear ConfigError line.

    ``overrides`` are values given on the command line; they win over the environment.
    """
    env = dict(os.environ if environ is None else environ)
    unknown = sorted(k for k in env if k.startswith("BOLTZ_") and k not in KNOWN_VARIABLES
                     and not k.startswith("BOLTZ_TEST_") and not k.startswith("BOLTZ_BENCH_"))
    if unknown:
        known = ", ".join(sorted(k for k in KNOWN_VARIABLES if k.startswith("BOLTZ_")))
        raise ConfigError(f"unknown setting {unknown[0]} (BoltzTrader knows {known})")
    values: dict[str, Any] = {k: v for k, v in env.items() if k in KNOWN_VARIABLES}
    values.update({_alias(k): v for k, v in overrides.items() if v is not None})
    try:
        # An explicit environment (tests, embedding) is the whole truth: no .env file then.
        dotenv = None if environ is not None else env_file
        settings = Settings(_env_file=dotenv, **values)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    _require_master_key_when_live(settings)
    return settings


def _alias(field_name: str) -> str:
    alias = Settings.model_fields[field_name].validation_alias
    assert isinstance(alias, AliasChoices)
    return str(alias.choices[0])


def _describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "settings"
    if error["type"] == "extra_forbidden":
        return f"unknown setting {where} in .env (known: {', '.join(sorted(KNOWN_VARIABLES))})"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"invalid setting {where}: {message}"


def _require_master_key_when_live(settings: Settings) -> None:
    if settings.mode is not RunMode.LIVE:
        return
    if settings.master_key is None and settings.master_key_file is None:
        raise ConfigError("live mode needs a master key: set BOLTZ_MASTER_KEY or BOLTZ_MASTER_KEY_FILE")
    if settings.master_key_file is not None and not settings.master_key_file.is_file():
        raise ConfigError(f"BOLTZ_MASTER_KEY_FILE {settings.master_key_file} does not exist")

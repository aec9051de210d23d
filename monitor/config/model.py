"""The configuration: one TOML file validated into typed, frozen objects at start-up.

Unknown keys are errors, every problem is reported at once with its key path
(``feeds[3].url: not an http(s) URL``), and secrets never live in the file: the SMTP
password comes from ``password_file``, the environment or a systemd credential. The
config object is passed explicitly; nothing here reads the environment after loading.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import time as dtime
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from monitor import __version__
from monitor.config.problems import format_errors
from monitor.config.types import (
    ClockTime,
    Duration,
    EmailAddress,
    HttpUrl,
    Name,
    Pause,
    Size,
    TimeZoneName,
    parse_duration,
    parse_size,
)
from monitor.errors import ConfigError

__all__ = ["Config", "ConfigError", "config_path", "load_config", "parse_duration", "parse_size"]

DEFAULT_CONFIG = Path("config/monitor.toml")
PASSWORD_ENV = "NEWS_MONITOR_SMTP_PASSWORD"
CREDENTIAL_NAME = "smtp-password"
_RESERVED = frozenset({"state_dir", "smtp_password", "source"})

class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageConfig(_Section):
    url: str = ""                       # filled with the state directory's SQLite file
    retention: Duration = timedelta(days=180)


class FetchConfig(_Section):
    user_agent: str = f"news-monitor/{__version__} (+https://github.com/news-monitor/news-monitor)"
    concurrency: int = Field(8, ge=1, le=200)
    per_host_concurrency: int = Field(2, ge=1, le=20)
    per_host_delay: Pause = timedelta(seconds=1)
    timeout: Duration = timedelta(seconds=20)
    deadline: Duration = timedelta(seconds=60)
    max_bytes: Size = 10 * 1000**2
    page_max_bytes: Size = 3 * 1000**2
    allow_private_hosts: tuple[str, ...] = ()
    proxy: str | None = None
    extract_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=0, le=64)
    extract_budget: Duration = timedelta(seconds=15)


class AlertsConfig(_Section):
    first_poll_window: Duration = timedelta(hours=24)
    mode: Literal["immediate", "hourly", "off"] = "immediate"
    max_per_hour: int = Field(20, ge=1)
    recheck: tuple[Duration, ...] = (timedelta(hours=1), timedelta(hours=6),
                                     timedelta(hours=24), timedelta(hours=72))
    min_changed_words: int = Field(8, ge=1)
    cluster_window: Duration = timedelta(hours=72)


class FeedConfig(_Section):
    name: Name
    url: HttpUrl
    interval: Duration = timedelta(minutes=15)
    full_text: bool = True
    enabled: bool = True


class TopicConfig(_Section):
    name: Name
    query: str = Field(min_length=1)
    min_score: float | None = Field(None, ge=0)
    enabled: bool = True


class SmtpConfig(_Section):
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    timeout: Duration = timedelta(seconds=30)


class EmailConfig(_Section):
    sender: EmailAddress = Field("news-monitor@localhost", alias="from")
    to: tuple[EmailAddress, ...] = ("analyst@localhost",)
    subject_prefix: str | None = None
    smtp: SmtpConfig | None = None


class DigestConfig(_Section):
    time: ClockTime = dtime(7, 0)
    timezone: TimeZoneName = "Europe/Berlin"
    to: tuple[EmailAddress, ...] | None = None
    send_empty: bool = True
    enabled: bool = True


class HttpConfig(_Section):
    listen: str | None = None

    @model_validator(mode="after")
    def _listen_form(self) -> HttpConfig:
        if self.listen is not None and not re.match(r"^(\[[0-9a-fA-F:]+\]|[\w.-]+):\d{1,5}$",
                                                    self.listen):
            raise ValueError(f"listen: not host:port: {self.listen!r}")
        return self


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(_Section):
    storage: StorageConfig = StorageConfig()
    fetch: FetchConfig = FetchConfig()
    alerts: AlertsConfig = AlertsConfig()
    feeds: tuple[FeedConfig, ...] = ()
    aliases: dict[Name, tuple[str, ...]] = Field(default_factory=dict)
    topics: tuple[TopicConfig, ...] = ()
    email: EmailConfig = EmailConfig()
    digest: DigestConfig = DigestConfig()
    http: HttpConfig = HttpConfig()
    logging: LoggingConfig = LoggingConfig()
    state_dir: Path = Path("var")
    smtp_password: str | None = Field(default=None, exclude=True, repr=False)
    source: Path | None = None

    @property
    def enabled_feeds(self) -> tuple[FeedConfig, ...]:
        return tuple(f for f in self.feeds if f.enabled)

    @property
    def enabled_topics(self) -> tuple[TopicConfig, ...]:
        return tuple(t for t in self.topics if t.enabled)

    @property
    def digest_recipients(self) -> tuple[str, ...]:
        return self.digest.to or self.email.to


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read, validate and complete the configuration; raise ConfigError with every problem."""
    env = os.environ if env is None else env
    raw = _read_toml(path)
    problems = _check_secrets_absent(raw) + _check_reserved(raw) + _raw_duplicates(raw)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(problems + format_errors(exc, Config), str(path)) from None
    problems += _cross_checks(config)
    password, secret_problems = _smtp_password(config, env)
    problems += secret_problems
    if problems:
        raise ConfigError(problems, str(path))
    return _complete(config, path, env, password)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError([f"file not found: {path}"], str(path)) from None
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror}"], str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"], str(path)) from None


def _check_secrets_absent(raw: Mapping[str, Any]) -> list[str]:
    smtp = raw.get("email", {}).get("smtp", {}) if isinstance(raw.get("email"), dict) else {}
    if isinstance(smtp, dict) and "password" in smtp:
        return ["email.smtp.password: secrets never live in the config file; use password_file, "
                f"${PASSWORD_ENV} or the systemd credential {CREDENTIAL_NAME!r}"]
    return []


def _check_reserved(raw: dict[str, Any]) -> list[str]:
    """Keys that are filled at load time, never from the file."""
    problems = []
    for key in _RESERVED & raw.keys():
        problems.append(f"{key}: unknown key")
        del raw[key]
    return problems


def _raw_duplicates(raw: Mapping[str, Any]) -> list[str]:
    problems = []
    for section in ("feeds", "topics"):
        items = raw.get(section)
        if isinstance(items, list):
            problems += _duplicates(section, [i.get("name") for i in items if isinstance(i, dict)])
    return problems


def _cross_checks(config: Config) -> list[str]:
    problems = []
    if config.fetch.per_host_concurrency > config.fetch.concurrency:
        problems.append("fetch.per_host_concurrency: larger than fetch.concurrency")
    smtp = config.email.smtp
    if smtp and smtp.security == "none" and smtp.username:
        problems.append("email.smtp.username: credentials over an unencrypted connection are "
                        "refused; use security = \"starttls\" or \"tls\"")
    if smtp and smtp.ca_file and not smtp.ca_file.is_file():
        problems.append(f"email.smtp.ca_file: file not found: {smtp.ca_file}")
    return problems


def _duplicates(section: str, names: list[Any]) -> list[str]:
    seen: set[Any] = set()
    problems = []
    for index, name in enumerate(names):
        if name is not None and name in seen:
            problems.append(f"{section}[{index}].name: duplicate name {name!r}")
        seen.add(name)
    return problems


def _smtp_password(config: Config, env: Mapping[str, str]) -> tuple[str | None, list[str]]:
    smtp = config.email.smtp
    if smtp is None or not smtp.username:
        return None, []
    if smtp.password_file is not None:
        return _read_secret(smtp.password_file, "email.smtp.password_file")
    if env.get(PASSWORD_ENV):
        return env[PASSWORD_ENV], []
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / CREDENTIAL_NAME).is_file():
        return _read_secret(Path(credentials) / CREDENTIAL_NAME, "email.smtp (credential)")
    return None, [f"email.smtp.username: no password found; set password_file, ${PASSWORD_ENV} "
                  f"or the systemd credential {CREDENTIAL_NAME!r}"]


def _read_secret(path: Path, key: str) -> tuple[str | None, list[str]]:
    try:
        return path.read_text(encoding="utf-8").strip(), []
    except OSError as exc:
        return None, [f"{key}: cannot read {path}: {exc.strerror}"]


def _complete(config: Config, path: Path, env: Mapping[str, str], password: str | None) -> Config:
    state_dir = Path(env.get("STATE_DIRECTORY", "").split(":")[0] or "var")
    storage_url = config.storage.url or f"sqlite:///{state_dir / 'monitor.db'}"
    storage = config.storage.model_copy(update={"url": storage_url})
    return config.model_copy(update={"state_dir": state_dir, "storage": storage,
                                     "smtp_password": password, "source": path})


def config_path(cli_value: str | None, env: Mapping[str, str]) -> Path:
    """--config, else $NEWS_MONITOR_CONFIG, else ./config/monitor.toml."""
    return Path(cli_value or env.get("NEWS_MONITOR_CONFIG") or DEFAULT_CONFIG)

"""The configuration: one TOML file validated into typed, frozen objects at start-up.

Unknown keys are errors, every problem is reported at once with its key path
(``feeds[3] ("FAZ Wirtschaft").url: not an http(s) URL``; the checks across keys are in
``checks``), and secrets never live in the file: the SMTP password comes from
``password_file``, the environment or a systemd credential. Relative paths are taken from
the file's folder and the state directory is chosen by ``paths``; what makes a valid file
useless is found by ``review`` and kept in ``Config.findings``. The config object is passed
explicitly; nothing here reads the environment after loading.
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

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor import __version__
from monitor.config import paths
from monitor.config.checks import query_problems, raw_duplicates, section
from monitor.config.problems import format_errors, in_file_order
from monitor.config.review import Finding, review
from monitor.config.routes import RouteConfig, raw_route_problems, route_problems, route_secrets
from monitor.config.secrets import secrets_absent, smtp_password, web_secret, web_tokens
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
_RESERVED = frozenset({"state_dir", "smtp_password", "source", "findings", "secrets",
                       "web_secret", "web_tokens"})

class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageConfig(_Section):
    url: str = ""                       # filled with the state directory's SQLite file
    state_dir: Path | None = None       # made absolute; $STATE_DIRECTORY comes first
    retention: Duration = timedelta(days=180)
    lease: Duration = timedelta(seconds=30)            # a claim on a feed, page, mail or job
    lease_renewal: Duration = timedelta(seconds=10)    # renewed this often while it runs

    @model_validator(mode="after")
    def _renewal_within_lease(self) -> StorageConfig:
        if self.lease_renewal * 2 > self.lease:
            raise ValueError(f"lease_renewal: {self.lease_renewal.total_seconds():g}s is more "
                             f"than half of lease ({self.lease.total_seconds():g}s)")
        return self


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
    margin: bool = False     # list stories below min_score in the digest ("Am Rande erwähnt")
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


LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


class WebUserConfig(_Section):
    name: Name
    password_hash: str          # from `news-monitor hash-password`

    @field_validator("password_hash")
    @classmethod
    def _hashed(cls, value: str) -> str:
        if not value.startswith("$scrypt$"):
            raise ValueError("not a password hash: make one with `news-monitor hash-password` "
                             "(a line starting with $scrypt$)")
        return value


class WebTokenConfig(_Section):
    name: Name
    token_file: Path


class WebConfig(_Section):
    """The review desk (``monitor.web``): served by ``run`` when this section is present."""

    listen: str = "127.0.0.1:8080"
    base_url: HttpUrl = "http://127.0.0.1:8080"
    secret_file: Path | None = None
    public_metrics: bool = False        # /metrics without a login
    users: tuple[WebUserConfig, ...] = ()
    tokens: tuple[WebTokenConfig, ...] = ()

    @model_validator(mode="after")
    def _guarded(self) -> WebConfig:
        if not re.match(r"^(\[[0-9a-fA-F:]+\]|[\w.-]+):\d{1,5}$", self.listen):
            raise ValueError(f"listen: not host:port: {self.listen!r}")
        if not self.users and self.listen.rpartition(":")[0] not in LOOPBACK:
            raise ValueError(f"users: the desk listens on {self.listen}, beyond this machine, "
                             "and has no [[web.users]]: add one (news-monitor hash-password) "
                             "or listen on 127.0.0.1")
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
    web: WebConfig | None = None
    logging: LoggingConfig = LoggingConfig()
    routes: tuple[RouteConfig, ...] = ()
    state_dir: Path = Path("var")
    smtp_password: str | None = Field(default=None, exclude=True, repr=False)
    secrets: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)
    web_secret: str | None = Field(default=None, exclude=True, repr=False)
    web_tokens: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)
    source: Path | None = None
    findings: tuple[Finding, ...] = Field(default=(), exclude=True)

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
    findings = review(raw)
    problems = (secrets_absent(raw) + raw_route_problems(raw) + _check_reserved(raw)
                + raw_duplicates(raw) + query_problems(raw))
    try:
        config: Config | None = Config.model_validate(raw)
    except ValidationError as exc:
        problems += format_errors(exc, Config, raw)
        config = None
    base = paths.config_folder(path)
    fetch = config.fetch if config else section(FetchConfig, raw, "fetch")
    email = config.email if config else section(EmailConfig, raw, "email")
    smtp = _with_paths(email.smtp, base) if email and email.smtp else None
    problems += _cross_checks(fetch, smtp)
    password, secret_problems = smtp_password(smtp.username if smtp else None,
                                              smtp.password_file if smtp else None, env)
    problems += secret_problems
    secrets: dict[str, str] = {}
    if config is not None:
        problems += route_problems(config.routes, [t.name for t in config.topics])
        secrets, missing = route_secrets(config.routes, base, env)
        problems += missing
    web = _web_with_paths(config.web, base) if config and config.web else None
    web_keys, web_problems = _web_secrets(web, env)
    problems += web_problems
    if problems or config is None:
        errors = problems + [str(f) for f in findings if f.severity == "error"]
        raise ConfigError(sorted(errors, key=in_file_order), str(path),
                          warnings=[str(f) for f in findings if f.severity == "warning"])
    config = config.model_copy(update={"web": web, **web_keys})
    return _complete(config, path, env, password, smtp, tuple(findings)).model_copy(
        update={"secrets": secrets})


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


def _check_reserved(raw: dict[str, Any]) -> list[str]:
    """Keys that are filled at load time, never from the file."""
    problems = []
    for key in _RESERVED & raw.keys():
        hint = " (did you mean 'state_dir' in [storage]?)" if key == "state_dir" else ""
        problems.append(f"{key}: unknown key{hint}")
        del raw[key]
    return problems


def _cross_checks(fetch: FetchConfig | None, smtp: SmtpConfig | None) -> list[str]:
    problems = []
    if fetch and fetch.per_host_concurrency > fetch.concurrency:
        problems.append("fetch.per_host_concurrency: larger than fetch.concurrency")
    if smtp and smtp.security == "none" and smtp.username:
        problems.append("email.smtp.username: credentials over an unencrypted connection are "
                        "refused; use security = \"starttls\" or \"tls\"")
    if smtp and smtp.ca_file and not smtp.ca_file.is_file():
        problems.append(f"email.smtp.ca_file: file not found: {smtp.ca_file}")
    return problems


def _with_paths(smtp: SmtpConfig, base: Path) -> SmtpConfig:
    """The SMTP section with its files taken from the config's folder."""
    return smtp.model_copy(update={
        "password_file": paths.resolve(base, smtp.password_file) if smtp.password_file else None,
        "ca_file": paths.resolve(base, smtp.ca_file) if smtp.ca_file else None})


def _web_with_paths(web: WebConfig, base: Path) -> WebConfig:
    """The desk's secret and token files taken from the config's folder."""
    tokens = tuple(t.model_copy(update={"token_file": paths.resolve(base, t.token_file)})
                   for t in web.tokens)
    secret = paths.resolve(base, web.secret_file) if web.secret_file else None
    return web.model_copy(update={"tokens": tokens, "secret_file": secret})


def _web_secrets(web: WebConfig | None, env: Mapping[str, str]) -> tuple[dict[str, Any],
                                                                          list[str]]:
    """The desk's secret and API tokens (never in the file), or the problems reading them."""
    if web is None:
        return {}, []
    secret, problems = web_secret(web.secret_file, env)
    tokens, token_problems = web_tokens([(t.name, t.token_file) for t in web.tokens])
    return {"web_secret": secret, "web_tokens": tokens}, problems + token_problems


def _complete(config: Config, path: Path, env: Mapping[str, str], password: str | None,
              smtp: SmtpConfig | None, findings: tuple[Finding, ...]) -> Config:
    """Paths made absolute, the state directory chosen, the secret and findings filled in."""
    base = paths.config_folder(path)
    configured = config.storage.state_dir
    own = paths.resolve(base, configured) if configured is not None else None
    state_dir = paths.state_directory(own, base, env)
    storage = config.storage.model_copy(update={
        "url": paths.storage_url(config.storage.url, base, state_dir), "state_dir": own})
    email = config.email.model_copy(update={"smtp": smtp})
    return config.model_copy(update={"state_dir": state_dir, "storage": storage, "email": email,
                                     "smtp_password": password, "source": path,
                                     "findings": findings})


def config_path(cli_value: str | None, env: Mapping[str, str]) -> Path:
    """--config, else $NEWS_MONITOR_CONFIG, else ./config/monitor.toml."""
    return Path(cli_value or env.get("NEWS_MONITOR_CONFIG") or DEFAULT_CONFIG)

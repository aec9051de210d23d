"""The translation of the configuration into the small settings each part reads.

This is the one place that reads a ``Config`` for the parts: each function below turns it
into the frozen record one consumer needs (``FetchOptions`` for the fetch stage,
``ExtractOptions`` for the extract pool, compiled ``Topic`` objects for matching,
``PipelineSettings``, ``ServiceSettings``, ``DeliverySettings`` and the mail settings and
transport, ``DigestSettings``, ``StoreSettings``), so no stage, the pipeline, notify or the
service ever imports ``monitor.config`` or reads a nested key deep inside.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import time as dtime
from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.config.model import Config
from monitor.config.problems import item_label
from monitor.config.routes import RouteConfig
from monitor.errors import ConfigError, QueryError
from monitor.extract.pool import ExtractOptions
from monitor.fetch.client import FetchOptions
from monitor.match import Topic, compile_topic
from monitor.models import DEFAULT_ROUTE
from monitor.notify.delivery import DeliverySettings
from monitor.notify.digest import DigestSettings
from monitor.notify.mailer import MaildirMailer, Mailer, SmtpMailer
from monitor.notify.settings import DeskLinks, MailSettings, RouteSettings, SmtpSettings
from monitor.pipeline.settings import FeedSpec, PipelineSettings
from monitor.store.records import RoutePolicy

DEFAULT_POLL_INTERVAL = timedelta(minutes=15)
# what the workers do besides extraction (story signatures), loaded once by the forkserver
WORKER_PRELOAD = ("monitor.pipeline.workerside",)


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The review desk's settings: where it listens, its links' base, the secret that signs
    its sessions and mail links, its users (name, scrypt hash) and API tokens (name, token),
    and the aliases the workbench's queries may name."""

    listen: str
    base_url: str
    secret: str = field(repr=False)
    users: tuple[tuple[str, str], ...]
    tokens: tuple[tuple[str, str], ...]
    public_metrics: bool
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """What the daemon schedules: the poll tick, the digest time, summaries, housekeeping."""

    feeds_enabled: int
    shortest_interval: timedelta
    listen: str | None
    digest_enabled: bool
    digest_time: dtime
    digest_timezone: str
    hourly_summary: bool
    retention: timedelta
    web: WebSettings | None = None      # the review desk, served when configured

    @property
    def poll_tick(self) -> float:
        """How often the poll job looks for due feeds: a quarter of the shortest interval."""
        return min(30.0, max(1.0, self.shortest_interval.total_seconds() / 4))


def web_settings(config: Config) -> WebSettings | None:
    """The desk's settings, or None without a ``[web]`` section."""
    web = config.web
    if web is None:
        return None
    return WebSettings(
        listen=web.listen, base_url=str(web.base_url).rstrip("/"),
        secret=config.web_secret or state_secret(config.state_dir),
        users=tuple((u.name, u.password_hash) for u in web.users),
        tokens=tuple(config.web_tokens.items()), public_metrics=web.public_metrics,
        aliases=tuple(config.aliases.items()))


def state_secret(state_dir: Path) -> str:
    """A random secret kept in the state directory (made once, readable by us alone)."""
    path = state_dir / "web-secret"
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass            # made before, or by another process starting at the same time
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="utf-8").strip()


def topic_words(config: Config) -> dict[str, tuple[str, ...]]:
    """Each topic's own words (its query's bare words and the entries of the aliases it
    names): learning from verdicts leaves them out, as every matched story names them."""
    words: dict[str, tuple[str, ...]] = {}
    for topic in config.topics:
        named = re.findall(r"@([\w.-]+)", topic.query)
        entries = [e for name in named for e in config.aliases.get(name, ())]
        bare = re.findall(r"(?<![@\w])[^\W\d_][\w*]{2,}", re.sub(r"@[\w.-]+", " ", topic.query))
        words[topic.name] = tuple(dict.fromkeys(
            [*entries, *(w for w in bare if w.upper() not in ("AND", "OR", "NOT", "NEAR"))]))
    return words


def compile_topics(config: Config) -> list[Topic]:
    """Every enabled topic compiled; all query errors reported at once, as config errors."""
    aliases = {name: list(terms) for name, terms in config.aliases.items()}
    topics, problems = [], []
    for index, topic in enumerate(config.topics):
        options: dict[str, Any] = {"margin": topic.margin}
        if topic.min_score is not None:
            options["min_score"] = topic.min_score
        try:
            compiled = compile_topic(topic.name, topic.query, aliases=aliases, **options)
        except QueryError as exc:
            message = str(exc).removeprefix(f"topic {topic.name}: ")
            problems.append(f"{item_label('topics', index, topic.name)}.query: {message}")
            continue
        if topic.enabled:
            topics.append(compiled)
    if problems:
        raise ConfigError(problems, str(config.source) if config.source else None)
    return topics


def fetch_options(config: Config) -> FetchOptions:
    fetch = config.fetch
    return FetchOptions(
        user_agent=fetch.user_agent, concurrency=fetch.concurrency,
        per_host_concurrency=fetch.per_host_concurrency,
        per_host_delay=fetch.per_host_delay.total_seconds(),
        connect_timeout=fetch.timeout.total_seconds(), read_timeout=fetch.timeout.total_seconds(),
        deadline=fetch.deadline.total_seconds(), max_bytes=fetch.max_bytes,
        allow_private_hosts=frozenset(fetch.allow_private_hosts), proxy=fetch.proxy)


def extract_options(config: Config) -> ExtractOptions:
    return ExtractOptions(workers=config.fetch.extract_workers,
                          budget_seconds=config.fetch.extract_budget.total_seconds(),
                          max_bytes=config.fetch.page_max_bytes,
                          preload=WORKER_PRELOAD)


def pipeline_settings(config: Config) -> PipelineSettings:
    alerts = config.alerts
    return PipelineSettings(
        feeds=tuple(FeedSpec(name=f.name, url=f.url, interval=f.interval,
                             full_text=f.full_text, enabled=f.enabled) for f in config.feeds),
        first_poll_window=alerts.first_poll_window,
        page_max_bytes=config.fetch.page_max_bytes,
        # Articles in flight at once (fetched page, extraction, matching): bounded, so a
        # first cycle over thousands of entries never holds thousands of pages in memory.
        articles_in_flight=max(4, 2 * config.fetch.concurrency),
        recheck=alerts.recheck, min_changed_words=alerts.min_changed_words,
        cluster_window=alerts.cluster_window,
        routes=route_policies(config),
        claim_batch=max(4, 2 * config.fetch.concurrency),
        page_wait=4 * config.storage.lease.total_seconds())


def service_settings(config: Config) -> ServiceSettings:
    enabled = config.enabled_feeds
    return ServiceSettings(
        feeds_enabled=len(enabled),
        shortest_interval=min((f.interval for f in enabled), default=DEFAULT_POLL_INTERVAL),
        listen=config.http.listen, digest_enabled=config.digest.enabled,
        digest_time=config.digest.time, digest_timezone=config.digest.timezone,
        hourly_summary=any(p.alerts for p in route_policies(config)),
        retention=config.storage.retention, web=web_settings(config))


def mail_settings(config: Config, *, to: Sequence[str] | None = None,
                  installation: str = "", desk: DeskLinks | None = None) -> MailSettings:
    return MailSettings(sender=config.email.sender, to=tuple(to or config.email.to),
                        subject_prefix=config.email.subject_prefix or "",
                        installation=installation, desk=desk)


def route_policies(config: Config) -> tuple[RoutePolicy, ...]:
    """Which events each enabled route is told of, and how; without ``[[routes]]`` the one
    email route of ``[email]`` (alerts as ``[alerts]`` says) and ``[digest]``."""
    if not config.routes:
        return (_default_policy(config),)
    return tuple(_policy(config, r) for r in config.routes if r.enabled)


def _default_policy(config: Config) -> RoutePolicy:
    alerts = config.alerts
    events = frozenset({"new", "updated"} if alerts.mode != "off" else set()) | (
        {"digest"} if config.digest.enabled else set())
    return RoutePolicy(name=DEFAULT_ROUTE, channel="email", mode=alerts.mode,
                       max_per_hour=alerts.max_per_hour, events=events)


def _policy(config: Config, route: RouteConfig) -> RoutePolicy:
    events = frozenset(route.events) | ({"digest"} if route.mode == "digest" else set())
    if not config.digest.enabled:
        events -= {"digest"}
    return RoutePolicy(name=route.name, channel=route.channel, mode=route.mode,
                       max_per_hour=route.max_per_hour, events=events,
                       topics=frozenset(route.topics) if route.topics is not None else None)


def route_settings(config: Config, installation: str = "") -> tuple[RouteSettings, ...]:
    """The enabled routes with their policies, recipients, targets and secrets; every
    message carries links into the review desk when one is configured."""
    web = web_settings(config)
    desk = DeskLinks(web.base_url, web.secret) if web is not None else None

    def mail(to: Sequence[str]) -> MailSettings:
        return mail_settings(config, to=to, installation=installation, desk=desk)

    if not config.routes:
        return (RouteSettings(name=DEFAULT_ROUTE, channel="email",
                              policy=_default_policy(config), mail=mail(config.email.to),
                              digest_mail=mail(config.digest_recipients)),)
    return tuple(_route(config, r, mail) for r in config.routes if r.enabled)


def _route(config: Config, route: RouteConfig,
           mail: Callable[[Sequence[str]], MailSettings]) -> RouteSettings:
    to = route.to or config.email.to
    secret = config.secrets.get(route.name, "")
    return RouteSettings(
        name=route.name, channel=route.channel, policy=_policy(config, route), mail=mail(to),
        digest_mail=mail(route.digest_to or to),
        url=secret if route.channel == "apprise" else (route.url or ""),
        secret=secret if route.channel == "webhook" else "",
        timeout=route.timeout.total_seconds())


def smtp_settings(config: Config) -> SmtpSettings | None:
    smtp = config.email.smtp
    if smtp is None:
        return None
    return SmtpSettings(host=smtp.host, port=smtp.port, security=smtp.security,
                        username=smtp.username, password=config.smtp_password,
                        ca_file=str(smtp.ca_file) if smtp.ca_file else None,
                        timeout=smtp.timeout.total_seconds())


def maildir_path(config: Config) -> Path:
    return config.state_dir / "mail"


def make_mailer(config: Config) -> Mailer:
    settings = smtp_settings(config)
    return SmtpMailer(settings) if settings else MaildirMailer(maildir_path(config))


def transport_label(config: Config) -> str:
    smtp = config.email.smtp
    if smtp is None:
        return f"Maildir {maildir_path(config)}"
    return f"SMTP {smtp.host}:{smtp.port} ({smtp.security})"


def delivery_settings(config: Config, installation: str = "") -> DeliverySettings:
    return DeliverySettings(
        routes=route_settings(config, installation), maildir=maildir_path(config),
        smtp=smtp_settings(config), lease_renewal=config.storage.lease_renewal.total_seconds())


def digest_settings(config: Config, topics: Sequence[Topic],
                    route: RouteSettings | None = None) -> DigestSettings:
    """The digest job's settings for ``route`` (the first route by default); ``topics`` are
    the compiled (enabled) topics, in order."""
    route = route or route_settings(config)[0]
    wanted = route.policy.topics
    return DigestSettings(
        timezone=config.digest.timezone, send_empty=config.digest.send_empty,
        topics=tuple(t.name for t in topics if wanted is None or t.name in wanted),
        feeds=tuple(f.name for f in config.enabled_feeds),
        mail=route.digest_mail or route.mail,
        archive_dir=config.state_dir / "digests",
        route=route.name, topic_filter=tuple(sorted(wanted)) if wanted is not None else None,
        lease_wait=4 * config.storage.lease.total_seconds())


def desk_digests(config: Config, topics: Sequence[Topic],
                 routes: Sequence[RouteSettings]) -> tuple[DigestSettings, ...]:
    """The digest settings of every one of ``routes`` that gets the digest, in configured
    order (the first route's when none does): the desk shows what they carry together."""
    wanted = [r for r in routes if "digest" in r.policy.events] or list(routes[:1])
    return tuple(digest_settings(config, topics, r) for r in wanted)


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """Where the store is, and the leases of this process's claims: how long one lasts
    unless renewed, and how often the ones in progress are renewed."""

    url: str
    lease_seconds: float
    renewal_seconds: float


def store_settings(config: Config) -> StoreSettings:
    storage = config.storage
    return StoreSettings(url=storage.url, lease_seconds=storage.lease.total_seconds(),
                         renewal_seconds=storage.lease_renewal.total_seconds())

"""``news-monitor check-config``: is the file right, and where will everything live?

Prints a summary with the paths the configuration resolved to (the state directory and
which rule chose it, the database, the Maildir or SMTP server, the digest archive), then
the review's findings: warnings on stderr, and errors (a file with which the service could
do nothing) as a configuration error, exit 2. Problems of the file itself never get here:
loading reports every one of them first.
"""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy.engine import make_url

from monitor.app.settings import (
    compile_topics,
    maildir_path,
    make_mailer,
    route_settings,
    transport_label,
)
from monitor.commands import command
from monitor.config.model import Config
from monitor.config.paths import sqlite_file, state_origin
from monitor.errors import ConfigError
from monitor.notify.channels import make_channel


@command("check-config", "validate the configuration, print the paths it resolved and what "
         "it lacks")
def check_config(args: argparse.Namespace, config: Config) -> int:
    topics = compile_topics(config)
    errors = [str(f) for f in config.findings if f.severity == "error"]
    warnings = [str(f) for f in config.findings if f.severity == "warning"]
    print(f"config:   {config.source}: {_verdict(len(errors), len(warnings))}")
    print(f"feeds:    {len(config.enabled_feeds)} enabled of {len(config.feeds)}")
    print(f"topics:   {', '.join(t.name for t in topics) or '(none)'}")
    print(f"state:    {config.state_dir} "
          f"({state_origin(config.storage.state_dir, os.environ)})")
    print(f"database: {_database(config.storage.url)}")
    print(f"mail:     {_transport(config)} -> {', '.join(config.email.to)}")
    print(f"digest:   {config.digest.time:%H:%M} {config.digest.timezone}"
          f"{'' if config.digest.enabled else ' (disabled)'}, archived in "
          f"{config.state_dir / 'digests'}")
    for line in _routes(config):
        print(f"route:    {line}")
    if config.web is not None:
        print(f"desk:     {config.web.base_url} (listening on {config.web.listen}, "
              f"{len(config.web.users)} users, {len(config.web.tokens)} API tokens)")
    if errors:
        raise ConfigError(errors, str(config.source), warnings=warnings)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _routes(config: Config) -> list[str]:
    """One line per configured route: its channel, topics, events, mode and target."""
    if not config.routes:
        return []
    lines = []
    mailer = make_mailer(config)
    for route in route_settings(config):
        policy = route.policy
        target = make_channel(route, mailer).target()
        topics = ", ".join(sorted(policy.topics)) if policy.topics is not None else "all topics"
        events = ", ".join(e for e in ("new", "updated", "digest") if e in policy.events)
        lines.append(f"{route.name} ({route.channel}) {topics}; {events or 'no events'}; "
                     f"{policy.mode} -> {target}")
    return lines


def _verdict(errors: int, warnings: int) -> str:
    if not errors and not warnings:
        return "ok"
    parts = [f"{errors} error{'s' if errors != 1 else ''}"] if errors else []
    parts += [f"{warnings} warning{'s' if warnings != 1 else ''}"] if warnings else []
    return ", ".join(parts)


def _database(url: str) -> str:
    file = sqlite_file(url)
    if file is not None:
        return f"{file} (SQLite)"
    return make_url(url).render_as_string(hide_password=True)


def _transport(config: Config) -> str:
    if config.email.smtp:
        return transport_label(config)
    return f"{transport_label(config)} (read it with: mutt -f {maildir_path(config)})"

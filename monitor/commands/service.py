"""``news-monitor run``: the service, in the foreground (systemd runs it like this)."""

from __future__ import annotations

import argparse

from monitor.commands import command
from monitor.config.model import Config
from monitor.service.daemon import run_service


@command("run", "run the service: poll on schedule, alert, digest (Ctrl-C or SIGTERM stops)")
def run(args: argparse.Namespace, config: Config) -> int:
    assert config.source is not None
    return run_service(config, config.source)

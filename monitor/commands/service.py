"""``news-monitor run``: the service, in the foreground (systemd runs it like this)."""

from __future__ import annotations

import argparse

from monitor.app.wiring import setup_for
from monitor.commands import command
from monitor.config.model import Config
from monitor.service.daemon import run_service


@command("run", "run the service: poll on schedule, alert, digest (Ctrl-C or SIGTERM stops)")
def run(args: argparse.Namespace, config: Config) -> int:
    return run_service(setup_for(config))

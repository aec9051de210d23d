"""``news-monitor run``: the service, in the foreground (systemd runs it like this).

It logs at ``[logging] level`` (the other commands log warnings only) and begins with the
configuration review's findings: an error (no feeds, no topics, mail over SMTP to the
starter file's placeholder) is logged at ERROR and a warning at WARNING; the service runs
either way, so a reload can fix what it lacks.
"""

from __future__ import annotations

import argparse
import logging

from monitor.app.wiring import setup_for
from monitor.commands import command
from monitor.config.model import Config
from monitor.service.daemon import run_service

log = logging.getLogger(__name__)


@command("run", "run the service: poll on schedule, alert, digest (Ctrl-C or SIGTERM stops)",
         log_level=None)
def run(args: argparse.Namespace, config: Config) -> int:
    for finding in config.findings:
        level = logging.ERROR if finding.severity == "error" else logging.WARNING
        log.log(level, "config status=%s key=%s problem=%r", finding.severity, finding.key,
                finding.text)
    return run_service(setup_for(config))

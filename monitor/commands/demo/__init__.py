"""``news-monitor demo [--keep DIR]``: an offline demonstration for a new user.

Needs no configuration: it ignores the config it is given and builds its own. The package
owns a small invented German news site (two outlets, their feeds and article pages, in
``data/``), a local HTTP server for it (``server``, ``site``), a local SMTP server that files
every message into a Maildir (``smtp``), and the scenario that runs the real pipeline against
both (``run``, told by ``narrate``): first poll, alerts, an article edited by its publisher,
an ``updated`` alert in the same thread, and a digest. Nothing leaves 127.0.0.1 and nothing
keeps running afterwards. Exit 0 when every step did what it shows, 1 when one did not (the
reason is printed), 2 for an unusable ``--keep`` directory.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from monitor.commands import command
from monitor.config.model import Config


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep", metavar="DIR", type=Path,
                        help="keep the demo's state (database, Maildir, digest) in DIR, "
                             "which must be new or empty; default: a temporary directory "
                             "removed at the end")


@command("demo", "run an offline demonstration: local feeds, alerts, an update, a digest",
         configure=_arguments, needs_config=False)
def demo(args: argparse.Namespace, config: Config) -> int:
    del config   # the demo builds its own; like every command it logs warnings only
    from monitor.commands.demo.run import run_demo  # its SMTP server (aiosmtpd) only here

    return asyncio.run(run_demo(sys.stdout, keep=args.keep))

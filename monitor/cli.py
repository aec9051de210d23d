"""``news-monitor [--config PATH] [--log-level LEVEL] COMMAND``: the entry point.

Builds the argument parser from the command registry, loads the configuration (PATH
defaults to ``$NEWS_MONITOR_CONFIG``, then ``./config/monitor.toml``), sets up logging, and
turns the errors a user can fix into clear messages and exit codes: 2 for a configuration
or usage problem, 1 for a store that cannot be used. Never a traceback for those.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from monitor import __version__
from monitor.commands import Command, load_all
from monitor.config.model import Config, config_path, load_config
from monitor.errors import ConfigError, MonitorError, StoreError
from monitor.service.logs import configure_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="news-monitor",
        description="Watch German business news for topics; alert and digest by email.")
    parser.add_argument("--version", action="version", version=f"news-monitor {__version__}")
    parser.add_argument("--config", metavar="PATH",
                        help="configuration file (default: $NEWS_MONITOR_CONFIG, "
                             "then ./config/monitor.toml)")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="override [logging] level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in load_all().commands.values():
        child = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.configure(child)
        child.set_defaults(handler=cmd)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:          # --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2
    cmd: Command = args.handler
    try:
        config = _load(cmd, args.config)
        configure_logging(args.log_level or config.logging.level,
                          secrets=[config.smtp_password] if config.smtp_password else [])
        return cmd.run(args, config)
    except ConfigError as exc:
        return _config_failed(exc)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _load(cmd: Command, path: str | None) -> Config:
    """The config; a command that brings its own (``demo``) gets the defaults if none exists."""
    location = config_path(path, os.environ)
    if not cmd.needs_config and not location.exists():
        return Config()
    return load_config(location)


def _config_failed(exc: ConfigError) -> int:
    where = f" in {exc.path}" if exc.path else ""
    count = len(exc.problems)
    print(f"error: {count} problem{'s' if count != 1 else ''}{where}:", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)
    return 2

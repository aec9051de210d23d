"""``news-monitor [--config PATH] [--log-level LEVEL] COMMAND``: the entry point.

Builds the argument parser from the command registry, loads the configuration (PATH
defaults to ``$NEWS_MONITOR_CONFIG``, then ``./config/monitor.toml``), sets up logging (the
service at ``[logging] level``, every other command at WARNING, ``--log-level`` overriding
both), and turns the errors a user can fix into clear messages and exit codes: 2 for a
configuration or usage problem (an unknown topic or feed name too), 1 for a store that
cannot be used. Never a traceback for those.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor import __version__
from monitor.commands import Command, load_all
from monitor.config.model import Config, config_path, load_config
from monitor.errors import ConfigError, MonitorError, StoreError, UsageError
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
                        help="log level (default: [logging] level for run, WARNING for the "
                             "other commands)")
    parser.add_argument("--timezone", metavar="ZONE", type=_zone,
                        help="time zone of the times commands print, e.g. UTC (default: "
                             "[digest] timezone)")
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
        level = args.log_level or cmd.log_level or config.logging.level
        configure_logging(level, secrets=[config.smtp_password] if config.smtp_password else [])
        return cmd.run(args, config)
    except ConfigError as exc:
        return _config_failed(exc)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _zone(value: str) -> str:
    """An argparse type: a time zone name such as ``Europe/Berlin`` or ``UTC``."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown time zone: {value!r}") from None
    return value


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
    for warning in exc.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 2

"""The commands of ``news-monitor``: an explicit registry, filled by the modules it imports.

Each command is a function ``(args, config) -> exit code`` registered with ``@command``,
with a function that adds its arguments. ``monitor.cli`` builds the parser from this
registry; a test checks that every registered command answers ``--help``.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.config.model import Config, parse_duration
from monitor.store import Store

Runner = Callable[[argparse.Namespace, Config], int]
Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    run: Runner
    configure: Configure
    needs_config: bool = True
    log_level: str | None = "WARNING"   # None: the config's [logging] level (the service)


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


class Registry:
    """Commands by name, in the order they were registered."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}

    def command(self, name: str, help: str, *, configure: Configure = _no_arguments,
                needs_config: bool = True,
                log_level: str | None = "WARNING") -> Callable[[Runner], Runner]:
        def register(run: Runner) -> Runner:
            if name in self.commands:
                raise ValueError(f"command {name!r} registered twice")
            self.commands[name] = Command(name, help, run, configure, needs_config, log_level)
            return run
        return register


def duration_ago(value: str) -> datetime:
    """An argparse type: ``"24h"`` is the moment 24 hours ago (a bad value exits 2)."""
    try:
        return datetime.now(UTC) - parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@contextlib.contextmanager
def opened_store(config: Config) -> Iterator[Store]:
    """The configured store for one command, closed again afterwards."""
    from monitor.app.wiring import open_store_for

    store = open_store_for(config)
    try:
        yield store
    finally:
        store.close()


REGISTRY = Registry()
command = REGISTRY.command


def load_all() -> Registry:
    """Import the command modules (each registers itself) and return the registry."""
    from monitor.commands import (  # noqa: F401  (registration side effect)
        checkconfig,
        deltas,
        demo,
        explain,
        feeds,
        mail,
        recheck,
        service,
        topics,
        web,
    )
    return REGISTRY

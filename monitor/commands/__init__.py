"""The commands of ``news-monitor``: an explicit registry, filled by the modules it imports.

Each command is a function ``(args, config) -> exit code`` registered with ``@command``,
with a function that adds its arguments. ``monitor.cli`` builds the parser from this
registry; a test checks that every registered command answers ``--help``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from monitor.config import Config

Runner = Callable[[argparse.Namespace, Config], int]
Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    run: Runner
    configure: Configure
    needs_config: bool = True


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


class Registry:
    """Commands by name, in the order they were registered."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}

    def command(self, name: str, help: str, *, configure: Configure = _no_arguments,
                needs_config: bool = True) -> Callable[[Runner], Runner]:
        def register(run: Runner) -> Runner:
            if name in self.commands:
                raise ValueError(f"command {name!r} registered twice")
            self.commands[name] = Command(name, help, run, configure, needs_config)
            return run
        return register


REGISTRY = Registry()
command = REGISTRY.command


def load_all() -> Registry:
    """Import the command modules (each registers itself) and return the registry."""
    from monitor.commands import (  # noqa: F401  (registration side effect)
        deltas,
        demo,
        explain,
        feeds,
        mail,
        service,
    )
    return REGISTRY

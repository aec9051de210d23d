"""``news-monitor web``, ``hash-password`` and ``backfill``: the review desk's commands.

``web`` serves the desk alone (no polling, no mail) on ``[web] listen``, for a desk whose
daemons run elsewhere on the same database; ``hash-password`` reads a password from
standard input (or asks twice on a terminal) and prints the line for
``[[web.users]] password_hash``; ``backfill`` applies a topic to the stored articles of a
period: the stories it finds become backfill events, reported by the next digest under
their own heading and never alerted.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import signal
import sys
from datetime import UTC, datetime

from monitor.app.settings import (
    compile_topics,
    desk_digests,
    route_settings,
    web_settings,
)
from monitor.commands import command, duration_ago, opened_store
from monitor.commands.output import check_topic
from monitor.config.model import Config
from monitor.errors import ConfigError, UsageError
from monitor.match import Normaliser
from monitor.store import Store
from monitor.web.passwords import hash_password
from monitor.web.searching import refresh
from monitor.web.server import serve_asgi
from monitor.web.workbench import backfill as run_backfill

INDEX_EVERY = 60.0      # seconds between bringing the search index up to date


async def _serve(config: Config, store: Store) -> int:
    # the desk's web framework and feeds (Starlette, feedgen, lxml) are imported by this
    # command only, not by every command's process (the service's included)
    from monitor.web.app import desk_app
    from monitor.web.state import Desk, DeskParts

    settings = web_settings(config)
    if settings is None:
        raise ConfigError(["web: no [web] section: add one to serve the review desk"],
                          str(config.source) if config.source else None)
    topics = compile_topics(config)
    parts = DeskParts(store, topics, desk_digests(config, topics, route_settings(config)))

    def health() -> tuple[bool, str]:
        ok = store.integrity_ok()
        return ok, "desk" if ok else "store does not answer"

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    desk = Desk(settings, lambda: parts, health)
    server = await serve_asgi(settings.listen, desk_app(desk))
    indexing = asyncio.create_task(_keep_indexed(store, desk.normaliser))
    print(f"review desk on http://{settings.listen} ({settings.base_url}); Ctrl-C stops",
          file=sys.stderr)
    await stop.wait()
    indexing.cancel()
    server.close()
    await server.wait_closed()
    return 0


async def _keep_indexed(store: Store, normaliser: Normaliser) -> None:
    """The search index brought up to the newest revisions every minute (the daemons that
    store them may run elsewhere)."""
    while True:
        await asyncio.to_thread(refresh, store, normaliser)
        await asyncio.sleep(INDEX_EVERY)


@command("web", "serve the review desk alone (the daemons may run elsewhere on the same "
         "database)", log_level="INFO")
def web(args: argparse.Namespace, config: Config) -> int:
    with opened_store(config) as store:
        return asyncio.run(_serve(config, store))


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Passwort: ")
    if first != getpass.getpass("Passwort wiederholen: "):
        raise UsageError("the two passwords differ")
    return first


@command("hash-password", "read a password (standard input, or asked on a terminal) and "
         "print its hash for [[web.users]] password_hash", needs_config=False)
def hash_password_command(args: argparse.Namespace, config: Config) -> int:
    password = _read_password()
    if len(password) < 8:
        raise UsageError("a password needs at least 8 characters")
    print(hash_password(password))
    return 0


def _backfill_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", required=True, metavar="NAME", help="the topic to apply")
    parser.add_argument("--since", type=duration_ago, default="30d", metavar="AGE",
                        help="stored articles first seen within AGE (default: 30d)")


@command("backfill", "apply a topic to stored articles: what it finds goes into the next "
         "digest as backfill, never as an alert", configure=_backfill_arguments)
def backfill(args: argparse.Namespace, config: Config) -> int:
    check_topic(config, args.topic)
    topics = {t.name: t for t in compile_topics(config)}
    if args.topic not in topics:
        raise UsageError(f"topic {args.topic!r} is disabled (enabled = false in the config)")
    with opened_store(config) as store:
        added = run_backfill(store, topics[args.topic], args.since, datetime.now(UTC))
    print(f"{added} stories found for {args.topic}; they go into the next digest")
    return 0

"""``news-monitor deltas``: the events the users hear about, newest first."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from monitor.app import open_store_for, utcnow
from monitor.commands import command
from monitor.config import Config, parse_duration
from monitor.deltas import short_diff
from monitor.models import Delta


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="24h", help="events within this duration (24h)")
    parser.add_argument("--topic", metavar="NAME", help="only this topic")
    parser.add_argument("--json", action="store_true", help="print a JSON list")


@command("deltas", "list new and updated stories (events) with score and cluster size",
         configure=_arguments)
def deltas(args: argparse.Namespace, config: Config) -> int:
    try:
        since = utcnow() - parse_duration(args.since)
    except ValueError as exc:
        print(f"error: --since: {exc}", file=sys.stderr)
        return 2
    store = open_store_for(config)
    try:
        events = store.events(since=since, topic=args.topic)
    finally:
        store.close()
    if args.json:
        print(json.dumps([as_json(e) for e in events], ensure_ascii=False, indent=2))
        return 0
    for event in events:
        print(as_line(event))
    print(f"{len(events)} events since {since.astimezone():%Y-%m-%d %H:%M}")
    return 0


def as_json(event: Delta) -> dict[str, Any]:
    return {"id": event.id, "kind": event.kind, "topic": event.topic, "url": event.url,
            "title": event.title, "source": event.source, "score": round(event.score, 3),
            "cluster": event.cluster_size, "also_reported_by": list(event.also_reported_by),
            "detected_at": event.detected_at.isoformat(),
            "published": event.published.isoformat() if event.published else None,
            "diff": short_diff(event.diff) if event.diff else None}


def as_line(event: Delta) -> str:
    when = event.detected_at.astimezone().strftime("%Y-%m-%d %H:%M")
    line = (f"{when}  {event.kind:<7} [{event.topic}] {event.title} — {event.source}  "
            f"score={event.score:.2f} cluster={event.cluster_size}\n    {event.url}")
    if event.diff:
        line += f"\n    {short_diff(event.diff)}"
    return line

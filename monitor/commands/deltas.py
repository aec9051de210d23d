"""``news-monitor deltas``: the events the users hear about, newest first."""

from __future__ import annotations

import argparse
import json
from typing import Any

from monitor.commands import command, duration_ago, opened_store
from monitor.config.model import Config
from monitor.deltas.diff import short_diff
from monitor.models import Delta


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="24h", type=duration_ago,
                        help="events within this duration (default 24h)")
    parser.add_argument("--topic", metavar="NAME", help="only this topic")
    parser.add_argument("--json", action="store_true", help="print a JSON list")


@command("deltas", "list new and updated stories (events) with score and cluster size",
         configure=_arguments)
def deltas(args: argparse.Namespace, config: Config) -> int:
    since = args.since
    with opened_store(config) as store:
        events = store.events(since=since, topic=args.topic)
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

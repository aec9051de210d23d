"""``news-monitor deltas``: the events the users hear about, newest first.

Each line starts with the time in the output zone and ends with the story's id (``#12``),
which ``recheck --story`` takes. An unknown ``--topic`` is a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import json
from typing import Any
from zoneinfo import ZoneInfo

from monitor.commands import command, duration_ago, opened_store
from monitor.commands.output import check_topic, display_zone, show_time
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
    check_topic(config, args.topic)
    with opened_store(config) as store:
        events = store.events(since=since, topic=args.topic)
    if args.json:
        print(json.dumps([as_json(e) for e in events], ensure_ascii=False, indent=2))
        return 0
    zone = display_zone(args, config)
    for event in events:
        print(as_line(event, zone))
    print(f"{len(events)} events since {show_time(since, zone)}")
    return 0


def as_json(event: Delta) -> dict[str, Any]:
    return {"id": event.id, "kind": event.kind, "topic": event.topic, "url": event.url,
            "title": event.title, "source": event.source, "score": round(event.score, 3),
            "cluster": event.cluster_size, "also_reported_by": list(event.also_reported_by),
            "detected_at": event.detected_at.isoformat(),
            "published": event.published.isoformat() if event.published else None,
            "diff": short_diff(event.diff) if event.diff else None}


def as_line(event: Delta, zone: ZoneInfo) -> str:
    line = (f"{show_time(event.detected_at, zone)}  {event.kind:<7} [{event.topic}] "
            f"{event.title} — {event.source}  score={event.score:.2f} "
            f"cluster={event.cluster_size}  #{event.id}\n    {event.url}")
    if event.diff:
        line += f"\n    {short_diff(event.diff)}"
    return line

"""``news-monitor topics``: each configured topic, its query, and what it found.

One block per topic in the configured order: its name (and whether it is disabled), its
query on one line, how many stories it matched in the last 7 days (counted when a story
first matched) and its last match with time, title and URL. Read only.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.commands import command, opened_store
from monitor.commands.output import display_zone, show_time
from monitor.config.model import Config
from monitor.store.topics import TopicActivity

RECENT = timedelta(days=7)


@command("topics", "list the topics with their query, matches in the last 7 days and the "
         "last match")
def topics(args: argparse.Namespace, config: Config) -> int:
    with opened_store(config) as store:
        found = {a.topic: a for a in store.topic_activity(datetime.now(UTC) - RECENT)}
    zone = display_zone(args, config)
    for topic in config.topics:
        activity = found.get(topic.name)
        state = "" if topic.enabled else "  (disabled)"
        print(f"{topic.name}{state}")
        print(f"    query:       {' '.join(topic.query.split())}")
        print(f"    last 7 days: {_count(activity)}")
        print(f"    last match:  {_last(activity, zone)}")
    if not config.topics:
        print("no topics configured; add [[topics]] tables to the config")
    return 0


def _count(activity: TopicActivity | None) -> str:
    recent = activity.recent if activity else 0
    return f"{recent} {'story' if recent == 1 else 'stories'} matched"


def _last(activity: TopicActivity | None, zone: ZoneInfo) -> str:
    if activity is None or activity.last_at is None:
        return "never"
    return (f"{show_time(activity.last_at, zone)}  {activity.last_title}"
            f"\n                 {activity.last_url}")

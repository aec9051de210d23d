"""``news-monitor topics``: each configured topic, its query, and what it found; ``topics
suggest --topic NAME``: query changes proposed from the desk's verdicts.

One block per topic in the configured order: its name (and whether it is disabled), its
query on one line, how many stories it matched in the last 7 days (counted when a story
first matched) and its last match with time, title and URL. ``suggest`` lists words far
more frequent in stories marked not relevant than in relevant ones as ``NOT`` candidates,
and words of relevant stories the topic missed as additions, each with how many past
verdicts it would have changed (``match.learn.suggest``). Read only.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.commands import command, opened_store
from monitor.commands.output import check_topic, display_zone, show_time
from monitor.config.model import Config
from monitor.match.learn import suggest
from monitor.pipeline.learning import verdict_examples
from monitor.store.topics import TopicActivity

RECENT = timedelta(days=7)


def _topics_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "%(prog)s [-h] [suggest --topic NAME]"
    actions = parser.add_subparsers(dest="action", metavar="ACTION", prog=parser.prog,
                                    description="without an ACTION: each topic's activity")
    suggest = actions.add_parser(
        "suggest", help="query changes proposed from the desk's verdicts",
        description="Propose query changes from the review desk's verdicts: NOT candidates "
                    "and additions, each with how many past verdicts it would have changed.")
    suggest.add_argument("--topic", metavar="NAME", required=True, help="the topic's name")


@command("topics", "list the topics with their query, matches in the last 7 days and the "
         "last match; suggest query changes from verdicts", configure=_topics_arguments)
def topics(args: argparse.Namespace, config: Config) -> int:
    if getattr(args, "action", None) == "suggest":
        return _suggest(args.topic, config)
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


def _suggest(name: str, config: Config) -> int:
    check_topic(config, name)
    with opened_store(config) as store:
        judged = store.verdict_texts(name)
    relevant = sum(s.relevant for s in judged)
    print(f"{name}: {relevant} relevant, {len(judged) - relevant} not relevant "
          f"(verdicts of the review desk)")
    proposals = suggest(verdict_examples(judged))
    if not proposals:
        print("no query change to propose yet: a word must recur in at least 2 judged "
              "stories of one kind")
        return 0
    for item in proposals:
        change = f"NOT {item.term}" if item.kind == "not" else f"OR {item.term}"
        print(f"  {change:<28} would have been right for {item.right} verdicts, "
              f"wrong for {item.wrong}")
    return 0


def _count(activity: TopicActivity | None) -> str:
    recent = activity.recent if activity else 0
    return f"{recent} {'story' if recent == 1 else 'stories'} matched"


def _last(activity: TopicActivity | None, zone: ZoneInfo) -> str:
    if activity is None or activity.last_at is None:
        return "never"
    return (f"{show_time(activity.last_at, zone)}  {activity.last_title}"
            f"\n                 {activity.last_url}")

"""What the demo tells its user: plain English lines about each step, written to a stream.

Pure formatting of the pipeline's own records (feed outcomes, deltas with their score and
explanation, the mails that arrived at the local SMTP server); no decisions are made here.
The mails themselves are German, as the service sends them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from monitor.config.model import Config
from monitor.match import render_explanation
from monitor.models import Delta, MatchResult
from monitor.pipeline.articles import EntryResult
from monitor.pipeline.feed import FeedOutcome

if TYPE_CHECKING:
    from monitor.commands.demo.run import Demo

WIDTH = 100
INDENT = "    "


def intro(out: TextIO, demo: Demo, config: Config) -> None:
    outlets = ", ".join(o["name"] for o in demo.manifest["outlets"])
    print("news-monitor demo: an offline run on a small invented German news site", file=out)
    print(f"  state directory: {demo.state}", file=out)
    print(f"  news site:       {demo.site.base_url}  ({outlets}; "
          f"{len(demo.manifest['articles'])} articles)", file=out)
    print(f"  mail server:     SMTP 127.0.0.1:{demo.sink.port}, every message filed in the "
          f"Maildir {demo.sink.path}", file=out)
    for feed in config.feeds:
        print(f"  feed:            {feed.name}  <{feed.url}>", file=out)
    for topic in config.topics:
        query = " ".join(topic.query.split())
        print(f"  topic:           {topic.name} = {query}", file=out)


def step(out: TextIO, number: int, title: str) -> None:
    print(file=out)
    print(textwrap.fill(f"{number}. {title}", WIDTH, subsequent_indent="   "), file=out)


def feeds(out: TextIO, outcomes: Sequence[FeedOutcome]) -> None:
    for outcome in outcomes:
        if outcome.status == "error":
            print(f"  {outcome.feed}: FAILED ({outcome.error})", file=out)
            continue
        state = "not modified (HTTP 304)" if outcome.status == "not_modified" else \
            f"{outcome.new_entries} new entries, {outcome.matches} matching"
        print(f"  {outcome.feed}: {state}", file=out)
        for article in outcome.articles:
            verdict = "MATCH   " if article.matched else "no match"
            print(f"    {verdict} {article.title}  [{article.status}]{_note(article)}",
                  file=out)


def _note(article: EntryResult) -> str:
    if article.matched and not article.deltas:
        return "\n             (no alert of its own: the same story was already alerted, " \
               "or nothing material changed)"
    return ""


def deltas(out: TextIO, items: Sequence[Delta]) -> None:
    if not items:
        print("  No new events.", file=out)
    for delta in items:
        print(f"  Event: {delta.kind.upper()} {delta.title!r} ({delta.source}), "
              f"score {delta.score:.2f}", file=out)
        if delta.also_reported_by:
            print(f"{INDENT}same story also reported by: {', '.join(delta.also_reported_by)}",
                  file=out)
        if delta.diff is not None:
            print(f"{INDENT}changed: +{delta.diff.added_words} / -{delta.diff.removed_words} "
                  "words; added:", file=out)
            print(_wrapped(_added(delta), INDENT + "  + "), file=out)
        explanation = render_explanation(MatchResult(delta.topic, True, delta.score,
                                                     delta.hits), color=False)
        print(textwrap.indent("why: " + explanation, INDENT), file=out)


def _added(delta: Delta) -> str:
    """The added words, the largest addition first (a new paragraph before a changed lead)."""
    added = [words for op, words in delta.diff.segments if op == "+"] if delta.diff else []
    return textwrap.shorten(" … ".join(sorted(added, key=len, reverse=True)), 300,
                            placeholder=" …")


def _wrapped(text: str, prefix: str) -> str:
    return textwrap.fill(text, WIDTH, initial_indent=prefix,
                         subsequent_indent=" " * len(prefix))


def mails(out: TextIO, messages: Sequence[EmailMessage], *, errors: Sequence[str] = ()) -> None:
    print(f"  Mail delivered to the local SMTP server: {len(messages)}", file=out)
    for message in messages:
        print(f"    -> {message['Subject']}", file=out)
    for error in errors:
        print(f"    delivery problem: {error}", file=out)


def threads(out: TextIO, replies: Sequence[EmailMessage], roots: Sequence[EmailMessage]) -> None:
    by_id = {str(m["Message-ID"]): m for m in roots}
    for reply in replies:
        root = by_id[str(reply["In-Reply-To"])]
        print(f"  Threaded: the update answers {reply['In-Reply-To']}, the first alert "
              f"{root['Subject']!r};\n  a mail reader shows it in that thread.", file=out)
    print("  The first alert on this story, as the analyst reads it (German):", file=out)
    first = by_id[str(replies[0]["In-Reply-To"])]
    print(textwrap.indent(_plain_text(first), INDENT + "| ", lambda _: True), file=out)


def _plain_text(message: EmailMessage, lines: int = 18) -> str:
    part = message.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    kept = [line for line in str(text).splitlines()][:lines]
    return "\n".join([*kept, "…"])


def digest(out: TextIO, subject: str, events: int, path: Path) -> None:
    print(f"  Digest {subject!r}: {events} events, archived as HTML at {path}", file=out)


def where(out: TextIO, *, state: Path, inbox: Path, digest: Path, mails: int,
          kept: bool) -> None:
    print(file=out)
    print("Where to look:", file=out)
    print(f"  mails ({mails}):     Maildir {inbox}", file=out)
    print(f"                 (each file in {inbox / 'new'} is one message; or: mutt -f {inbox})",
          file=out)
    print(f"  digest:        {digest}", file=out)
    print(f"  database:      {state / 'monitor.db'}", file=out)
    print(f"  config used:   {state / 'demo.toml'}", file=out)
    if not kept:
        print("The state directory is removed now; run `news-monitor demo --keep DIR` to keep "
              "it and open the mails and the digest afterwards.", file=out)
    print("Both local servers are stopped. Nothing was sent beyond 127.0.0.1.", file=out)

"""Cluster membership decided by the store: inside ``save_outcome``, from the new article's
signature and the recent ones stored (the window, the threshold, the oldest of equals)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from monitor.deltas.cluster import signature
from monitor.store import ClusterQuery, Store
from monitor.store.schema import articles
from tests.test_cluster import JV_FOUNDING, OUTLET_A, OUTLET_B
from tests.test_store_support import HB, T0, outcome, rows

WINDOW = timedelta(hours=72)


def _save(store: Store, n: int, text: str, *, at: timedelta = timedelta(0),
          query: bool = True, threshold: float = 0.5, **kw: object) -> int:
    """Article ``n`` first seen at T0 + ``at``, evaluated with ``text`` (and its signature)."""
    url = f"{HB}/meldung-{n}.html"
    aid = store.upsert_article(url, at=T0 + at, title="AliExpress", source=f"Quelle {n}").id
    sig = signature(text)
    cluster = ClusterQuery(sig, since=T0 + at - WINDOW, threshold=threshold) if query else None
    store.save_outcome(outcome(aid, url=url, text=text, at=T0 + at, signature=sig or None,
                               source=f"Quelle {n}", cluster=cluster, **kw))
    return aid


def _clusters(store_url: str) -> dict[int, int]:
    return {r.id: r.cluster_id for r in rows(store_url, select(articles.c.id,
                                                               articles.c.cluster_id))}


def test_wire_copy_joins_the_first_copys_cluster_and_another_story_does_not(
        store: Store, store_url: str) -> None:
    first = _save(store, 1, OUTLET_A)
    copy = _save(store, 2, OUTLET_B, at=timedelta(hours=1))
    other = _save(store, 3, JV_FOUNDING, at=timedelta(hours=2))
    assert _clusters(store_url) == {first: first, copy: first, other: other}
    [copy_delta] = [d for d in store.events() if d.source == "Quelle 2"]
    assert copy_delta.cluster_size == 2 and copy_delta.also_reported_by == ("Quelle 1",)


def test_only_articles_first_seen_in_the_window_are_compared(store: Store,
                                                             store_url: str) -> None:
    old = _save(store, 1, OUTLET_A)
    late = _save(store, 2, OUTLET_B, at=WINDOW + timedelta(minutes=1))
    assert _clusters(store_url) == {old: old, late: late}


def test_the_most_similar_articles_current_cluster_is_joined(store: Store,
                                                               store_url: str) -> None:
    lead = _save(store, 1, JV_FOUNDING)
    moved = _save(store, 2, OUTLET_A, query=False, cluster_id=lead)   # regrouped since
    half = "\n".join([*OUTLET_A.splitlines()[:7], JV_FOUNDING])
    _save(store, 3, half, query=False)
    newest = _save(store, 4, OUTLET_B, threshold=0.3)
    assert _clusters(store_url)[newest] == lead
    assert _clusters(store_url)[moved] == lead


def test_of_equally_similar_articles_the_oldest_wins(store: Store, store_url: str) -> None:
    first = _save(store, 1, OUTLET_A, query=False)
    second = _save(store, 2, OUTLET_A, query=False)
    third = _save(store, 3, OUTLET_A)
    assert _clusters(store_url) == {first: first, second: second, third: first}


@pytest.mark.parametrize(("threshold", "joins"), [(0.5, True), (0.99, False)])
def test_the_threshold_decides(store: Store, store_url: str, threshold: float,
                               joins: bool) -> None:
    first = _save(store, 1, OUTLET_A)
    copy = _save(store, 2, OUTLET_B, threshold=threshold)
    assert _clusters(store_url)[copy] == (first if joins else copy)


def test_short_texts_and_signatures_of_another_size_never_cluster(store: Store,
                                                                  store_url: str) -> None:
    teaser = "AliExpress Russland streicht bis zu 40 Prozent der Stellen."
    short = _save(store, 1, teaser)
    again = _save(store, 2, teaser)
    url = f"{HB}/meldung-3.html"
    small = store.upsert_article(url, at=T0, title="AliExpress", source="Quelle 3").id
    store.save_outcome(outcome(small, url=url, text=OUTLET_A,
                               signature=signature(OUTLET_A, num_perm=64)))
    full = _save(store, 4, OUTLET_A)
    assert _clusters(store_url) == {short: short, again: again, small: small, full: full}


def test_wire_copy_of_an_alerted_story_raises_no_second_new_event(store: Store) -> None:
    _save(store, 1, OUTLET_A, one_new_per_cluster=True)
    _save(store, 2, OUTLET_B, at=timedelta(minutes=5), one_new_per_cluster=True)
    [only] = store.events()
    assert (only.kind, only.source, only.cluster_size) == ("new", "Quelle 1", 2)


def test_a_store_compares_with_articles_another_process_saved_since_its_last_look(
        opener: Callable[..., Store], store_url: str) -> None:
    """Each store keeps the window's signatures between saves and reads only what is new:
    a wire copy saved by one process joins the cluster of a copy another process saved."""
    here, there = opener(owner="here:1"), opener(owner="there:1")
    other = _save(here, 1, JV_FOUNDING)
    first = _save(there, 2, OUTLET_A, at=timedelta(minutes=10))
    copy = _save(here, 3, OUTLET_B, at=timedelta(minutes=20))
    assert _clusters(store_url) == {other: other, first: first, copy: first}


def test_an_article_whose_text_changed_is_compared_by_its_new_text(
        opener: Callable[..., Store], store_url: str) -> None:
    """A re-check saved by another process changes an article's signature: the next
    comparison here uses the new one, not the one read before."""
    here, there = opener(owner="here:1"), opener(owner="there:1")
    changed = _save(here, 1, JV_FOUNDING)
    _save(here, 2, JV_FOUNDING, at=timedelta(minutes=5))      # here has read article 1 now
    url = f"{HB}/meldung-1.html"
    there.save_outcome(outcome(changed, url=url, text=OUTLET_A, at=T0 + timedelta(hours=1),
                               signature=signature(OUTLET_A), source="Quelle 1"))
    copy = _save(here, 3, OUTLET_B, at=timedelta(hours=2))
    assert _clusters(store_url)[copy] == changed


def test_revisions_of_unsigned_or_older_articles_move_a_stores_look_on(
        opener: Callable[..., Store], store_url: str) -> None:
    """Another process's revisions of an article without a signature, and of one first seen
    before the window, are read past: the next look still finds what came after them."""
    here, there = opener(owner="here:1"), opener(owner="there:1")
    first = _save(here, 1, JV_FOUNDING, at=timedelta(hours=80))
    _save(there, 2, "Kurz gemeldet: AliExpress", at=timedelta(hours=81))   # no signature
    _save(there, 3, OUTLET_A, at=timedelta(hours=1))                       # before the window
    lead = _save(there, 4, OUTLET_A, at=timedelta(hours=82))
    copy = _save(here, 5, OUTLET_B, at=timedelta(hours=83))
    again = _save(here, 6, JV_FOUNDING, at=timedelta(hours=84))
    assert {k: _clusters(store_url)[k] for k in (copy, again)} == {copy: lead, again: first}

"""Metrics as a Prometheus server would scrape them: the rendered text, parsed back."""

from __future__ import annotations

import asyncio
import time

from prometheus_client.parser import text_string_to_metric_families

from monitor.service.metrics import Metrics, measure_loop_lag


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def test_poll_outcomes_and_errors_are_counted_per_feed() -> None:
    m = Metrics()
    m.observe_poll("handelsblatt", "ok", 0.4)
    m.observe_poll("handelsblatt", "ok", 0.6)
    m.observe_poll("tagesschau", "error", 12.0)
    m.feed_error("tagesschau", "timeout")
    m.new_entries("handelsblatt", 7)
    m.set_feeds_failing(1)
    m.cycle_done(1_700_000_000.0)
    got = samples(m)
    assert got[("news_monitor_polls_total", (("feed", "handelsblatt"), ("status", "ok")))] == 2
    assert got[("news_monitor_polls_total", (("feed", "tagesschau"), ("status", "error")))] == 1
    errors = ("news_monitor_feed_errors_total", (("feed", "tagesschau"), ("kind", "timeout")))
    assert got[errors] == 1
    assert got[("news_monitor_new_entries_total", (("feed", "handelsblatt"),))] == 7
    assert got[("news_monitor_poll_duration_seconds_count", ())] == 3
    assert got[("news_monitor_poll_duration_seconds_sum", ())] == 13.0
    assert got[("news_monitor_poll_duration_seconds_bucket", (("le", "0.5"),))] == 1
    assert got[("news_monitor_feeds_failing", ())] == 1
    assert got[("news_monitor_last_cycle_timestamp_seconds", ())] == 1_700_000_000.0


def test_matches_deltas_and_mail() -> None:
    m = Metrics()
    m.matched("alibaba-russland", 3)
    m.delta("alibaba-russland", "new")
    m.delta("alibaba-russland", "updated")
    m.mail_sent("alert")
    m.mail_sent("digest")
    m.mail_failed()
    m.set_outbox(pending=4, dead=1)
    m.digest_sent(1_700_003_600.0)
    got = samples(m)
    topic = ("topic", "alibaba-russland")
    assert got[("news_monitor_matches_total", (topic,))] == 3
    assert got[("news_monitor_deltas_total", (("kind", "updated"), topic))] == 1
    assert got[("news_monitor_mail_sent_total", (("kind", "digest"),))] == 1
    assert got[("news_monitor_mail_failed_total", ())] == 1
    assert got[("news_monitor_mail_pending", ())] == 4
    assert got[("news_monitor_mail_dead", ())] == 1
    assert got[("news_monitor_last_digest_timestamp_seconds", ())] == 1_700_003_600.0


def test_two_instances_do_not_share_a_registry() -> None:
    first, second = Metrics(), Metrics()
    first.mail_failed()
    assert samples(first)[("news_monitor_mail_failed_total", ())] == 1
    assert samples(second)[("news_monitor_mail_failed_total", ())] == 0


def test_loop_lag_p99_uses_nearest_rank() -> None:
    m = Metrics()
    assert m.loop_lag_p99() == 0.0
    for i in range(1, 201):
        m.observe_loop_lag(i / 1000)
    assert m.loop_lag_p99() == 0.198
    assert samples(m)[("news_monitor_loop_lag_p99_seconds", ())] == 0.198
    assert samples(m)[("news_monitor_loop_lag_seconds_count", ())] == 200


def test_measure_loop_lag_sees_a_blocked_loop() -> None:
    m = Metrics()

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(measure_loop_lag(m, 0.01, stop=stop))
        await asyncio.sleep(0.05)
        time.sleep(0.3)              # a CPU-bound call made on the loop by mistake
        await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 1)

    asyncio.run(run())
    assert m.loop_lag_p99() >= 0.25
    assert samples(m)[("news_monitor_loop_lag_seconds_count", ())] >= 3

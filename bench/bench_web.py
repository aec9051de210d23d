"""``python -m bench.bench_web``: the review desk over 100,000 stored articles.

Owns one measurement, not part of ``make bench`` (filling the store takes minutes):
generates N articles (default 100,000; fixed seed) of German-like text with a revision
each, matches for three topics, an event for every 20th article (all but the last 40 in
sent digests, as after weeks of running), and the search index; then starts the service
(``news-monitor run`` with ``[web]``, as a child process, one unreachable feed, no extract
workers), logs in over HTTP and times sequential requests of ``/``, ``/stories``,
``/stories/{id}`` and ``/search?q=`` (p50 and p95 of ``--requests`` each, after a warm-up).
Prints the database size and the service's RSS with the desk loaded, and writes the raw
figures to bench/.work/results-web.json. Targets (p95 at most 50 ms, search 150 ms) are
printed as PASS or FAIL, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from bench.procfs import memory_mb
from monitor.match import Normaliser
from monitor.store import open_store
from monitor.store.schema import (
    articles,
    digest_items,
    digests,
    events,
    matches,
    outbox,
    revisions,
)
from monitor.web.passwords import hash_password
from monitor.web.searching import refresh

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "web"
SEED = 20261201
PASSWORD = "bench-passwort-2026"
TOPICS = ("joint-ventures", "bahn", "stahl")
OUTLETS = ("Wirtschaftskurier", "Tagesblatt", "Handelsrundschau", "Finanzbote", "Börsenecho")
VOCABULARY = ("Unternehmen Gemeinschaftsunternehmen Konzern Vorstand Aufsichtsrat Umsatz Gewinn "
         "Quartal Prognose Anleger Aktie Börse Bahn Streik Tarif Gewerkschaft Stahl Werk "
         "Hochofen Wasserstoff Energie Strompreis Investition Milliarden Millionen Stellen "
         "Standort Fabrik Halbleiter Chips Zulieferer Autobauer Elektroauto Batterie Bank "
         "Zinsen Kredit Inflation Export Import China Russland Sanktionen Übernahme Fusion "
         "Kartellamt Genehmigung Beteiligung Anteil Partner Vertrag Verhandlungen Ergebnis "
         "Kunden Markt Wettbewerb Preise Kosten Sparprogramm Abbau Wachstum Rekord Krise "
         "wächst sinkt steigt plant kündigt meldet erwartet übernimmt gründet verkauft "
         "der die das ein eine mit für nach bei von im am zum und oder aber auch nicht")
WORDS = tuple(VOCABULARY.split())
TARGETS = {"/": 50.0, "/stories": 50.0, "/stories/{id}": 50.0, "/search": 150.0}


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    return " ".join(words).capitalize() + "."


def fill(url: str, count: int, now: datetime, rng: random.Random) -> None:
    """``count`` articles with one revision each, their matches and events, in batches."""
    store = open_store(url)
    try:
        sent = now - timedelta(days=1)
        with store._db.write() as conn:        # yesterday's digest, sent
            digest_id = conn.scalar(insert(digests).values(
                period_end=sent, created_at=sent, html_path="",
                message_id="<bench@news-monitor>", route="default",
                period=sent.date().isoformat()).returning(digests.c.id))
            conn.execute(insert(outbox).values(
                message_id="<bench@news-monitor>", kind="digest", recipients="[]",
                subject="Tagesübersicht", raw=b"", status="sent", attempts=1, created_at=sent,
                sent_at=sent))
        for start in range(1, count + 1, 5000):
            _batch(store, range(start, min(count, start + 4999) + 1), count, now, rng, digest_id)
            print(f"  stored {min(count, start + 4999):,} articles", file=sys.stderr)
    finally:
        store.close()


def _batch(store: Any, ids: range, count: int, now: datetime, rng: random.Random,
           digest_id: int) -> None:
    arts, revs, found, evs, items = [], [], [], [], []
    for n in ids:
        at = now - timedelta(minutes=count - n)      # within the 180 days kept
        title = sentence(rng)[:90]
        text = " ".join(sentence(rng) for _ in range(rng.randint(6, 12)))
        source = OUTLETS[n % len(OUTLETS)]
        url = f"https://news.example/{source.lower()}/{n}.html"
        arts.append({"id": n, "url": url, "title": title, "summary": text[:160], "source": source,
                     "site_name": source, "first_seen": at, "published": at, "check_stage": 0})
        revs.append({"id": n, "article_id": n, "title": title, "text": text,
                     "text_hash": f"{n:064x}", "fetched_at": at, "extract_status": "ok"})
        topic = TOPICS[n % len(TOPICS)]
        found.append({"revision_id": n, "topic": topic, "matched": n % 20 == 0,
                      "score": 1.5, "hits": "[]"})
        if n % 20 == 0:
            if n <= count - 1440:                       # in yesterday's digest
                items.append({"route": "default", "event_id": n, "digest_id": digest_id})
            evs.append({"id": n, "article_id": n, "revision_id": n, "topic": topic, "kind": "new",
                        "score": 1.5, "hits": "[]", "url": url, "title": title,
                        "summary": text[:160], "source": source, "published": at,
                        "detected_at": at, "thread_id": f"<a{n}@news-monitor>",
                        "backfill": False})
    with store._db.write() as conn:
        conn.execute(insert(articles), arts)
        conn.execute(insert(revisions), revs)
        conn.execute(insert(matches), found)
        if evs:
            conn.execute(insert(events), evs)
        if items:
            conn.execute(insert(digest_items), items)


def index(url: str) -> float:
    started = time.monotonic()
    store = open_store(url)
    try:
        normaliser = Normaliser()
        while refresh(store, normaliser, batches=20, batch=2000):
            pass
    finally:
        store.close()
    return time.monotonic() - started


def write_config(state: Path, port: int) -> Path:
    path = state / "monitor.toml"
    path.write_text(f"""
[storage]
state_dir = "{state}"
[fetch]
extract_workers = 0
[[feeds]]
name = "unerreichbar"
url = "http://127.0.0.1:9/rss"
interval = "1h"
""" + "".join(f'[[topics]]\nname = "{t}"\nquery = "{t.split("-")[0]}"\n' for t in TOPICS) + f"""
[web]
listen = "127.0.0.1:{port}"
[[web.users]]
name = "bench"
password_hash = "{hash_password(PASSWORD)}"
""", encoding="utf-8")
    return path


def start_service(config: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
    child = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return child
        except httpx.TransportError:
            time.sleep(0.2)
    child.kill()
    raise SystemExit("the service did not start")


def login(client: httpx.Client) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None
    answer = client.post("/login", data={"csrf": token.group(1), "name": "bench",
                                         "password": PASSWORD})
    assert answer.status_code == 303, answer.status_code


def timed(client: httpx.Client, paths: list[str]) -> list[float]:
    took = []
    for path in paths:
        started = time.perf_counter()
        answer = client.get(path)
        took.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return took


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(client: httpx.Client, count: int, requests: int,
            rng: random.Random) -> dict[str, dict[str, float]]:
    paths = {
        "/": ["/"] * requests,
        "/stories": [f"/stories?page={rng.randint(1, 20)}" for _ in range(requests)],
        "/stories/{id}": [f"/stories/{rng.randint(1, count)}" for _ in range(requests)],
        "/search": [f"/search?q={rng.choice(WORDS[:60])}+{rng.choice(WORDS[:60])}"
                    for _ in range(requests)],
    }
    figures = {}
    for name, chosen in paths.items():
        timed(client, chosen[: max(3, requests // 10)])                     # warm-up
        took = timed(client, chosen)
        figures[name] = {"p50_ms": statistics.median(took), "p95_ms": percentile(took, 0.95),
                         "max_ms": max(took)}
    return figures


def run(count: int, requests: int, keep: bool) -> dict[str, Any]:
    rng = random.Random(SEED)
    state = WORK / f"state-{count}"
    if state.exists() and not keep:
        subprocess.run(["rm", "-rf", str(state)], check=True)
    state.mkdir(parents=True, exist_ok=True)
    db = state / "monitor.db"
    url = f"sqlite:///{db}"
    now = datetime.now(UTC)
    fill_s = index_s = 0.0
    if not db.exists():
        started = time.monotonic()
        fill(url, count, now, rng)
        fill_s = time.monotonic() - started
        index_s = index(url)
    size = sum(p.stat().st_size for p in state.glob("monitor.db*"))
    port = 18000 + rng.randint(0, 999)
    service = start_service(write_config(state, port), port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            login(client)
            figures = measure(client, count, requests, rng)
        memory = memory_mb(service.pid)
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(30)
    return {"articles": count, "requests": requests, "fill_seconds": fill_s,
            "index_seconds": index_s, "database_mb": size / 1e6, "service_rss_mb": memory["rss"],
            "service_processes": memory["processes"], "pages": figures}


def render(result: dict[str, Any]) -> str:
    lines = [f"review desk over {result['articles']:,} stored articles "
             f"({result['requests']} sequential requests each)",
             f"{'page':<16}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  target"]
    for name, f in result["pages"].items():
        target = TARGETS[name]
        verdict = "PASS" if f["p95_ms"] <= target else "FAIL"
        lines.append(f"{name:<16}{f['p50_ms']:>9.1f}{f['p95_ms']:>9.1f}{f['max_ms']:>9.1f}"
                     f"  p95 <= {target:.0f} ms {verdict}")
    lines.append(f"database: {result['database_mb']:.0f} MB; service RSS with the desk: "
                 f"{result['service_rss_mb']:.0f} MB ({result['service_processes']} processes)")
    if result["fill_seconds"]:
        lines.append(f"filled in {result['fill_seconds']:.0f} s, search index built in "
                     f"{result['index_seconds']:.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_web", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the database of an earlier run with as many articles")
    args = parser.parse_args(argv)
    result = run(args.articles, args.requests, args.keep)
    print(render(result))
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK.parent / "results-web.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Extractor: extract_html in a real process pool (and in a thread), budget and recovery."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from monitor.extract import pool as pool_module
from monitor.extract.pool import ExtractOptions, Extractor
from monitor.models import Page

PAGES = Path(__file__).parent / "fixtures" / "pages"
ARTICLE = (PAGES / "artikel_aliexpress.html").read_bytes()
TITLE = "AliExpress Russland streicht bis zu 40 Prozent der Stellen"
SUMMARY = "Das Joint Venture von Alibaba in Russland streicht Stellen."
# A legal but pathological page: a 2.9 MB table costs trafilatura about 12 s.
HUGE_TABLE = ("<html><body><table>" + "<tr><td>a</td><td>b</td></tr>" * 100_000
              + "</table></body></html>").encode()


async def extract(extractor: Extractor, html: bytes, n: int = 0) -> Page:
    return await extractor.extract(html, url=f"https://www.wirtschaftskurier.de/a/{n}",
                                   feed_title="Feedtitel", feed_summary=SUMMARY)


def run_with(options: ExtractOptions, body):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        extractor = Extractor(options)
        extractor.start()
        try:
            return await body(extractor)
        finally:
            await extractor.aclose()
    return asyncio.run(main())


def test_process_pool_extracts_pages_concurrently() -> None:
    async def body(extractor: Extractor) -> list[Page]:
        return await asyncio.gather(*(extract(extractor, ARTICLE, n) for n in range(3)))

    pages = run_with(ExtractOptions(workers=1, budget_seconds=30), body)
    assert [p.status for p in pages] == ["ok"] * 3
    assert all(p.title == TITLE and "Belegschaft drastisch" in p.text for p in pages)
    assert pages[2].url == "https://www.wirtschaftskurier.de/a/2"


def test_budget_overrun_gives_timeout_and_the_next_page_works() -> None:
    async def body(extractor: Extractor) -> tuple[Page, float, Page]:
        await extract(extractor, ARTICLE)          # the worker is up and warm
        started = time.perf_counter()
        slow = await extract(extractor, HUGE_TABLE)
        took = time.perf_counter() - started
        return slow, took, await extract(extractor, ARTICLE)

    slow, took, after = run_with(ExtractOptions(workers=1, budget_seconds=3), body)
    assert slow.status == "timeout"
    assert slow.text == SUMMARY and slow.title == "Feedtitel"
    assert "budget of 3 s" in slow.detail
    assert took < 6
    assert after.status == "ok" and after.title == TITLE


def test_killed_worker_is_replaced() -> None:
    async def body(extractor: Extractor) -> Page:
        await extract(extractor, ARTICLE)
        workers = multiprocessing.active_children()
        assert workers
        for proc in workers:
            os.kill(proc.pid, signal.SIGKILL)   # type: ignore[arg-type]
        await asyncio.sleep(0.2)
        return await extract(extractor, ARTICLE)

    page = run_with(ExtractOptions(workers=1, budget_seconds=30), body)
    assert page.status == "ok" and page.title == TITLE


def test_thread_mode_without_pool() -> None:
    async def body(extractor: Extractor) -> list[Page]:
        return await asyncio.gather(extract(extractor, ARTICLE),
                                    extract(extractor, b"\x00\xff" * 100))

    ok, bad = run_with(ExtractOptions(workers=0), body)
    assert not multiprocessing.active_children()
    assert ok.status == "ok" and ok.author == "Katrin Vogelsang"
    assert bad.status == "failed" and bad.text == SUMMARY


def test_byte_cap_applies_in_the_extractor() -> None:
    filler = b"".join(b"<p>Nachtrag %d: Der Konzern bestaetigte die Zahlen am Abend.</p>\n" % i
                      for i in range(200_000))
    end = ARTICLE.index(b"</article>")
    html = ARTICLE[:end] + filler + b"<p>ENDMARKE</p>" + ARTICLE[end:]
    assert len(html) > 10_000_000

    async def body(extractor: Extractor) -> Page:
        return await extract(extractor, html)

    started = time.perf_counter()
    page = run_with(ExtractOptions(workers=0, max_bytes=end + 20_000), body)
    assert time.perf_counter() - started < 5
    assert page.status == "ok" and "Belegschaft drastisch" in page.text
    assert "Nachtrag 3:" in page.text and "ENDMARKE" not in page.text


def test_pool_starts_on_the_first_task_and_stops_when_idle() -> None:
    async def main() -> tuple[bool, bool, bool, Page]:
        extractor = Extractor(ExtractOptions(workers=1, budget_seconds=30, idle_seconds=0.5))
        try:
            before = extractor.running
            await extract(extractor, ARTICLE)
            during = extractor.running
            await asyncio.sleep(2.0)
            after = extractor.running
            return before, during, after, await extract(extractor, ARTICLE)
        finally:
            await extractor.aclose()

    before, during, after, again = asyncio.run(main())
    assert (before, during, after) == (False, True, False)
    assert again.status == "ok" and again.title == TITLE


def test_workers_are_replaced_after_their_share_of_tasks() -> None:
    async def main() -> list[int]:
        extractor = Extractor(ExtractOptions(workers=1, budget_seconds=30, tasks_per_worker=2))
        try:
            return [await extractor.offload(os.getpid) for _ in range(6)]
        finally:
            await extractor.aclose()

    pids = asyncio.run(main())
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]


def test_a_pool_starts_off_the_event_loop_once_for_every_waiting_task(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The first spawn waits for the forkserver to import and warm the workers' libraries;
    it runs in a thread, so the loop goes on meanwhile, and tasks that arrive during the
    start wait for that one start instead of starting pools of their own."""
    spawns: list[str] = []
    real_spawn = pool_module._spawn_workers

    def slow_spawn(pool: Any, workers: int) -> None:   # a forkserver still importing
        spawns.append(threading.current_thread().name)
        time.sleep(0.3)
        real_spawn(pool, workers)

    monkeypatch.setattr(pool_module, "_spawn_workers", slow_spawn)

    async def main() -> tuple[list[int], int]:
        extractor = Extractor(ExtractOptions(workers=1, budget_seconds=30))
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1 if not extractor.running and spawns else 0

        beat = asyncio.create_task(ticker())
        try:
            pids = await asyncio.gather(*(extractor.offload(os.getpid) for _ in range(3)))
            return pids, ticks
        finally:
            beat.cancel()
            await extractor.aclose()

    pids, ticks_while_starting = asyncio.run(main())
    assert len(spawns) == 1 and spawns[0] != "MainThread"
    assert ticks_while_starting > 0          # the loop ran while the workers were spawned
    assert len(set(pids)) == 1 and pids[0] != os.getpid()


def test_closing_while_the_pool_starts_leaves_no_workers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real_spawn = pool_module._spawn_workers

    def slow_spawn(pool: Any, workers: int) -> None:
        time.sleep(0.3)
        real_spawn(pool, workers)

    monkeypatch.setattr(pool_module, "_spawn_workers", slow_spawn)

    async def main() -> tuple[str, bool]:
        extractor = Extractor(ExtractOptions(workers=1, budget_seconds=30))
        task = asyncio.create_task(extractor.offload(os.getpid))
        await asyncio.sleep(0.05)                 # the start is under way
        await extractor.aclose()
        try:
            await task
        except RuntimeError as exc:
            return str(exc), extractor.running
        return "no error", extractor.running

    message, running = asyncio.run(main())
    assert (message, running) == ("Extractor is closed", False)


# What a worker reports: which of the command line's modules it has loaded.
PROBE_HELPER = '''
import sys

def loaded(names):
    return sorted(name for name in names if name in sys.modules)
'''
# Appended to the installed command's own script in place of its ``if __name__`` block.
PROBE_MAIN = '''
if __name__ == "__main__":
    import asyncio
    import probe_helper
    from monitor.extract.pool import ExtractOptions, Extractor

    async def probe():
        extractor = Extractor(ExtractOptions(workers=1, idle_seconds=0))
        try:
            print("WORKER", await extractor.offload(probe_helper.loaded, HEAVY))
        finally:
            extractor.close()

    asyncio.run(probe())
'''
HEAVY = ["monitor.cli", "monitor.app.wiring", "sqlalchemy", "pydantic", "jinja2"]


def test_workers_under_the_installed_command_do_not_load_the_command_line(
        tmp_path: Path) -> None:
    """multiprocessing re-runs the parent's main script in every new worker: under the
    ``news-monitor`` command that is pip's script, whose top must stay light (before, each
    worker loaded the command line, configuration and store code: 0.3 s and 26 MB)."""
    import subprocess
    import sys

    command = Path(sys.executable).parent / "news-monitor"
    top = command.read_text(encoding="utf-8").split("if __name__ ==")[0]
    assert "import main" in top                          # the real script's own import line
    script = tmp_path / "news-monitor-probe"
    script.write_text(f"{top}\nHEAVY = {HEAVY!r}\n{PROBE_MAIN}", encoding="utf-8")
    (tmp_path / "probe_helper.py").write_text(PROBE_HELPER, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "WORKER []" in done.stdout, done.stdout + done.stderr

"""Benchmark of the extract stage against bare trafilatura.

Generates about 100 synthetic German article pages (40-120 KB each, with navigation,
sidebars, related links, comments and inline scripts; fixed seed), then measures
CPU milliseconds per page of bare ``trafilatura.extract(html)`` against our ``extract_html``
(metadata, walls, canonical URL included), and the throughput of ``Extractor`` with a
process pool against sequential bare calls. Target: ``extract_html`` costs at most 1.1
times bare trafilatura. Run with ``.venv/bin/python -m bench.bench_extract [--quick]``.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import time
from collections.abc import Callable

import trafilatura

from monitor.extract.html import extract_html
from monitor.extract.pool import ExtractOptions, Extractor

TARGET_RATIO = 1.1
SEED = 20240507
WORDS = ["Umsatz", "Gewinn", "Quartal", "Vorstand", "Aufsichtsrat", "Anleger", "Aktie", "Konzern",
         "Tochter", "Werk", "Standort", "Auftrag", "Kunde", "Lieferkette", "Prognose", "Zins",
         "Inflation", "Markt", "Wettbewerb", "Sanktionen", "Export", "Import", "Handel",
         "Plattform", "Beteiligung", "Fonds", "Investor", "Bank", "Kredit", "Rubel", "Euro",
         "Dollar", "Moskau", "Peking", "Frankfurt", "Berlin", "Hamburg", "München", "Mittelstand",
         "Belegschaft", "Stellen", "Gewerkschaft", "Tarif", "Energie", "Strompreis", "Halbleiter",
         "Logistik"]
VERBS = ["meldete", "steigerte", "senkte", "prüft", "erwartet", "bestätigte", "verschob", "plant",
         "kündigte", "verkaufte", "übernahm", "investiert", "begründete"]
CITIES = ["Stuttgart", "Köln", "Leipzig", "Düsseldorf", "Hannover", "Bremen", "Nürnberg", "Dresden"]


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 16))
    words.insert(1, rng.choice(VERBS))
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice([".", ".", ".", ", sagte ein Sprecher."])


def paragraph(rng: random.Random, sentences: tuple[int, int] = (3, 7)) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(*sentences)))


def link_list(rng: random.Random, n: int, cls: str) -> str:
    items = "".join(f'<li><a href="/{rng.choice(WORDS).lower()}/{rng.randint(1000, 99999)}'
                    f'.html">{sentence(rng)[:70]}</a></li>' for _ in range(n))
    return f'<ul class="{cls}">{items}</ul>'


def article(rng: random.Random) -> str:
    blocks = [f"<p class='lead'>{paragraph(rng, (2, 3))}</p>"]
    for i in range(rng.randint(8, 18)):
        blocks.append(f"<p>{paragraph(rng)}</p>")
        if i % 5 == 4:
            blocks.append(f"<h2>{sentence(rng)[:60]}</h2>")
    return (f"<article><h1>{sentence(rng)[:90]}</h1><p class='byline'>Von Anna Beispiel, "
            f"{rng.randint(1, 28)}.0{rng.randint(1, 9)}.2024</p>{''.join(blocks)}</article>")


def comments(rng: random.Random) -> str:
    items = "".join(f"<div class='comment'><b>Leser{rng.randint(1, 999)}</b>"
                    f"<p>{paragraph(rng, (1, 3))}</p></div>" for _ in range(rng.randint(5, 25)))
    return f"<section id='comments'><h3>Kommentare</h3>{items}</section>"


def head(rng: random.Random, n: int, site: str) -> str:
    """A page head; nine in ten carry the article metadata news sites publish (og, JSON-LD)."""
    stamp = (f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
             f"T{rng.randint(6, 22):02d}:15:00+01:00")
    meta = (f"<meta property='og:site_name' content='{site}'><meta property='og:type' "
            f"content='article'><meta property='article:published_time' content='{stamp}'>"
            '<script type="application/ld+json">{"@context": "https://schema.org", "@type": '
            f'"NewsArticle", "datePublished": "{stamp}", "author": {{"@type": "Person", '
            f'"name": "Anna Beispiel"}}, "publisher": {{"@type": "Organization", '
            f'"name": "{site}"}}}}'
            "</script>") if rng.random() < 0.9 else ""
    return (f"<!DOCTYPE html><html lang='de'><head><meta charset='utf-8'><title>Artikel {n}"
            f" | {site}</title>{meta}<link rel='canonical' href='https://www.example-"
            f"wirtschaft.de/artikel/{n}.html'></head><body>")


def page(rng: random.Random, n: int) -> bytes:
    """One synthetic article page of 40-120 KB."""
    target = rng.randint(40_000, 120_000)
    site = f"{rng.choice(CITIES)}er Wirtschaftszeitung"
    nav = f"<header><nav>{link_list(rng, rng.randint(30, 80), 'menu')}</nav></header>"
    side = f"<aside class='sidebar'><h3>Meistgelesen</h3>{link_list(rng, 10, 'top')}</aside>"
    body = [head(rng, n, site), nav, "<main>", article(rng), comments(rng), "</main>", side]
    size = sum(map(len, body))
    while size < target - 2000:   # real pages carry large menus, footers and scripts
        chunk = (f"<script>window.__STATE__={{'teaser': '{paragraph(rng)}'}};</script>"
                 if rng.random() < 0.3
                 else f"<div class='related'>{link_list(rng, 12, 'rel')}</div>")
        body.append(chunk)
        size += len(chunk)
    body.append(f"<footer>{link_list(rng, 25, 'footer')}</footer></body></html>")
    return "".join(body).encode()


def pages(count: int) -> list[bytes]:
    rng = random.Random(SEED)
    return [page(rng, n) for n in range(count)]


def per_page_ms(fns: list[Callable[[bytes, int], object]], html: list[bytes],
                repeat: int) -> list[list[float]]:
    """CPU milliseconds of each function on each page, the best of ``repeat`` runs.

    The functions take turns page by page, and CPU time (not wall time) is counted, so
    other load on the machine falls on both sides alike.
    """
    best = [[float("inf")] * len(html) for _ in fns]
    for _ in range(repeat):
        for i, data in enumerate(html):
            for k, fn in enumerate(fns):
                started = time.process_time()
                fn(data, i)
                best[k][i] = min(best[k][i], (time.process_time() - started) * 1000)
    return best


def bare(data: bytes, _i: int) -> object:
    return trafilatura.extract(data)


def bare_news(data: bytes, _i: int) -> object:
    """Bare trafilatura with our extraction settings (precision, no comments), no metadata."""
    return trafilatura.extract(data, favor_precision=True, include_comments=False)


def ours(data: bytes, i: int) -> object:
    return extract_html(data, url=f"https://www.example.de/artikel/{i}.html",
                        feed_title="Titel", feed_summary="Kurze Zusammenfassung des Artikels.")


async def pool_seconds(html: list[bytes], workers: int) -> float:
    """Wall seconds for the Extractor's pool to do all pages (after warming its workers)."""
    extractor = Extractor(ExtractOptions(workers=workers, budget_seconds=60))
    extractor.start()
    try:
        await asyncio.gather(*(extractor.extract(html[0], url="https://www.example.de/w",
                                                 feed_title="", feed_summary="")
                               for _ in range(workers)))
        started = time.perf_counter()
        await asyncio.gather(*(extractor.extract(d, url=f"https://www.example.de/{i}",
                                                 feed_title="", feed_summary="")
                               for i, d in enumerate(html)))
        return time.perf_counter() - started
    finally:
        await extractor.aclose()


def sequential_seconds(html: list[bytes]) -> float:
    """Wall seconds for ``extract_html`` on all pages in this process, one after another."""
    started = time.perf_counter()
    for i, data in enumerate(html):
        ours(data, i)
    return time.perf_counter() - started


def run(quick: bool = False) -> dict[str, float | int | bool]:
    """Measure and return the figures (also what ``main`` prints)."""
    html = pages(20 if quick else 100)
    fns = [bare, bare_news, ours]
    per_page_ms(fns, html[:3], 1)      # warm every path's lazy imports
    bare_ms, news_ms, ours_ms = per_page_ms(fns, html, 1 if quick else 5)
    workers = os.cpu_count() or 1
    seq_s = sequential_seconds(html)
    pool_s = asyncio.run(pool_seconds(html, workers))
    ratio = sum(ours_ms) / sum(bare_ms)
    return {
        "pages": len(html), "mean_kb": statistics.mean(map(len, html)) / 1000,
        "bare_ms": statistics.mean(bare_ms), "bare_median_ms": statistics.median(bare_ms),
        "bare_news_ms": statistics.mean(news_ms),
        "bare_news_median_ms": statistics.median(news_ms),
        "ours_ms": statistics.mean(ours_ms), "ours_median_ms": statistics.median(ours_ms),
        "ratio": ratio, "ratio_same_settings": sum(ours_ms) / sum(news_ms),
        "target": TARGET_RATIO, "passed": ratio <= TARGET_RATIO, "workers": workers,
        "sequential_pages_per_s": len(html) / seq_s, "pool_pages_per_s": len(html) / pool_s,
    }


def main() -> int:
    r = run(quick="--quick" in sys.argv)
    verdict = "PASS" if r["passed"] else "FAIL"
    print(f"extract benchmark: {r['pages']} pages, mean {r['mean_kb']:.0f} KB")
    print(f"{'case (CPU time per page)':<44}{'mean ms':>9}{'median ms':>11}{'ratio':>7}")
    rows = [("trafilatura.extract(html)", "bare", 1.0),
            ("trafilatura.extract(precision, no comments)", "bare_news",
             r["bare_news_ms"] / r["bare_ms"]),
            ("monitor.extract.html.extract_html", "ours", r["ratio"])]
    for label, key, ratio in rows:
        print(f"{label:<44}{r[key + '_ms']:>9.1f}{r[key + '_median_ms']:>11.1f}{ratio:>7.2f}")
    print(f"extract_html / trafilatura.extract(html) = {r['ratio']:.2f}: {verdict} "
          f"(target <= {TARGET_RATIO}); against the same settings: {r['ratio_same_settings']:.2f}")
    print(f"throughput (wall): extract_html sequential {r['sequential_pages_per_s']:.1f} "
          f"pages/s, Extractor pool ({r['workers']} workers) {r['pool_pages_per_s']:.1f} pages/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

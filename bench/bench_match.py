"""Benchmark of topic matching: articles per second for the default topic, and lemma memory.

Generates 10,000 synthetic German articles of about 800 words (fixed seed; a vocabulary
with inflected nouns, verbs and adjectives, hyphenated and closed compounds, and in some
articles the topic's words: Alibaba near Russland, Alibaba alone, Russland alone, the JV
partners). Measures, per core (CPU time), the cold path (first ``prepare_document`` and
evaluation, lemma data already loaded) and the warm path (cached ``Document`` found by
content hash, then evaluated), against bare simplemma lemmatisation of every word; and the
resident memory the German lemma data costs, in a fresh interpreter. Target: warm >= 5,000
articles/s.
Run with ``.venv/bin/python -m bench.bench_match [--quick]``.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from monitor.match import DocumentCache, Normaliser, Topic, compile_topic, prepare_document
from monitor.match.normalise import WORD_RE

TARGET_WARM = 5000.0
SEED = 20240611
CHUNK = 500                     # documents held at once (the cache bounds memory)
ROOT = Path(__file__).resolve().parent.parent
NOUNS = ["Konzern", "Konzerns", "Konzerne", "Umsatz", "Umsätze", "Gewinn", "Gewinne", "Quartal",
         "Quartals", "Aktie", "Aktien", "Anleger", "Anlegern", "Händler", "Händlern", "Plattform",
         "Plattformen", "Markt", "Märkte", "Märkten", "Börse", "Börsen", "Boerse", "Lieferkette",
         "Lieferketten", "Bank", "Banken", "Kunde", "Kunden", "Kundinnen", "Regierung", "Behörde",
         "Behörden", "Vorstand", "Vorstands", "Mitarbeiter", "Mitarbeitern", "Belegschaft", "Größe",
         "Straße", "Geschäft", "Geschäfts", "Geschäfte", "Unternehmen", "Unternehmens", "Fonds",
         "Partner"]
COMPOUNDS = ["Online-Handel", "E-Commerce-Riese", "Joint-Venture", "Joint-Ventures", "Börsengang",
             "Russland-Geschäft", "Zinsentscheidung", "Lagerhallen", "Handelsplattform",
             "China-Geschäft", "Exportkontrollen", "US-Sanktionen", "Cloud-Sparte",
             "Halbleiterwerk", "Paketzentrum"]
VERBS = ["meldete", "meldet", "steigerte", "senkte", "prüft", "erwartet", "erwarteten",
         "bestätigte", "verschob", "plant", "planten", "kündigte", "verkaufte", "verkauft",
         "übernahm", "investiert", "investierten", "wächst", "wuchs", "entlässt", "entließ",
         "begründete"]
ADJ = ["deutsche", "deutschen", "chinesische", "chinesischen", "europäische", "europäischen",
       "große", "großen", "neue", "neuen", "schwache", "schwachen", "kräftige", "kräftigen",
       "digitale", "digitalen"]
SMALL = ["der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "und", "oder", "mit",
         "für", "nach", "bei", "in", "im", "auf", "an", "zu"]
CITIES = ["Frankfurt", "Berlin", "Hamburg", "München", "Peking", "Shanghai", "Hongkong", "Brüssel",
          "Stuttgart"]
ALIBABA = ["Alibaba", "AliExpress", "Alibaba-Konzern", "Alibabas", "Taobao", "Tmall"]
RUSSIA = ["Russland", "russischen", "Moskau", "Russland-Sanktionen", "russische", "Kreml"]
PARTNERS = ["Mail.ru", "Megafon", "RDIF", "VK"]


def sentence(rng: random.Random, extra: list[str]) -> str:
    words = [rng.choice(SMALL if rng.random() < 0.4 else NOUNS) for _ in range(rng.randint(6, 14))]
    words.insert(1, rng.choice(VERBS))
    words.insert(rng.randint(2, len(words)), rng.choice(ADJ))
    if rng.random() < 0.3:
        words.insert(rng.randint(0, len(words)), rng.choice(COMPOUNDS + CITIES))
    for word in extra:
        words.insert(rng.randint(0, len(words)), word)
    return " ".join(words).capitalize() + "."


def article(rng: random.Random) -> tuple[str, str, str]:
    kind = rng.random()     # 3 % on topic, 7 % Alibaba only, 10 % Russia only, 80 % neither
    sentences, words = [], 0
    while words < 800:
        extra: list[str] = []
        if kind < 0.03 and rng.random() < 0.05:
            extra = [rng.choice(ALIBABA), rng.choice(RUSSIA + PARTNERS)]
        elif kind < 0.10 and rng.random() < 0.05:
            extra = [rng.choice(ALIBABA)]
        elif kind < 0.20 and rng.random() < 0.05:
            extra = [rng.choice(RUSSIA)]
        sentences.append(sentence(rng, extra))
        words += len(sentences[-1].split())
    return sentence(rng, []), " ".join(sentences[:2]), " ".join(sentences)


def default_topic() -> Topic:
    with open(ROOT / "config" / "monitor.toml", "rb") as fh:
        config = tomllib.load(fh)
    entry = config["topics"][0]
    return compile_topic(entry["name"], entry["query"], aliases=config["aliases"],
                         min_score=entry["min_score"])


def lemma_memory() -> dict[str, float]:
    """RSS before and after simplemma's German data is loaded, in a fresh interpreter."""
    probe = ("import json,resource,simplemma\n"
             "def rss():\n"
             "    for line in open('/proc/self/status'):\n"
             "        if line.startswith('VmRSS'): return int(line.split()[1]) / 1024\n"
             "import time; before = rss(); t = time.process_time()\n"
             "simplemma.lemmatize('Häuser', lang='de'); after = rss()\n"
             "load = time.process_time() - t\n"
             "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
             "print(json.dumps({'before_mb': before, 'after_mb': after, 'peak_mb': peak,"
             " 'load_s': load}))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout)


def bare_lemmatisation(articles: list[tuple[str, str, str]]) -> float:
    import simplemma

    start = time.process_time()
    for title, summary, text in articles:
        for part in (title, summary, text):
            for m in WORD_RE.finditer(part):
                simplemma.lemmatize(m.group(), lang="de")
    return len(articles) / (time.process_time() - start)


def measure(articles: list[tuple[str, str, str]], topic: Topic) -> dict[str, float]:
    cache = DocumentCache(maxsize=CHUNK, normaliser=Normaliser())
    cold = warm = only = 0.0
    matched = 0
    for i in range(0, len(articles), CHUNK):
        chunk = articles[i:i + CHUNK]
        t0 = time.process_time()
        docs = [prepare_document(title=a, summary=b, text=c, cache=cache) for a, b, c in chunk]
        matched += sum(topic.evaluate(d).matched for d in docs)
        t1 = time.process_time()
        for a, b, c in chunk:
            topic.evaluate(prepare_document(title=a, summary=b, text=c, cache=cache))
        t2 = time.process_time()
        for d in docs:
            topic.evaluate(d)
        cold, warm, only = cold + t1 - t0, warm + t2 - t1, only + time.process_time() - t2
    n = len(articles)
    return {"cold": n / cold, "warm": n / warm, "evaluate_only": n / only,
            "matched": matched, "lemma_cache_words": cache.normaliser.cached_words}


def run(quick: bool = False) -> dict[str, Any]:
    """Generate, measure and return the figures (rates in articles per CPU second)."""
    rng = random.Random(SEED)
    articles = [article(rng) for _ in range(1000 if quick else 10_000)]
    topic = default_topic()
    figures: dict[str, Any] = {"articles": len(articles)}
    figures.update(measure(articles, topic))
    figures["bare_simplemma"] = bare_lemmatisation(articles[:100 if quick else 500])
    figures["lemma_memory"] = lemma_memory()
    figures["pass"] = figures["warm"] >= TARGET_WARM
    return figures


def report(fig: dict[str, Any]) -> str:
    mem = fig["lemma_memory"]
    verdict = "PASS" if fig["pass"] else "FAIL"
    rows = [
        f"{'path':34} {'articles/s':>11}  target",
        f"{'bare simplemma, every word':34} {fig['bare_simplemma']:11,.0f}",
        f"{'cold: first prepare + evaluate':34} {fig['cold']:11,.0f}",
        f"{'warm: cached Document + evaluate':34} {fig['warm']:11,.0f}  "
        f">= {TARGET_WARM:,.0f} {verdict}",
        f"{'evaluate only (Document in hand)':34} {fig['evaluate_only']:11,.0f}",
        "",
        f"articles {fig['articles']:,} of ~800 words; matched {fig['matched']}; "
        f"lemma cache {fig['lemma_cache_words']:,} surface forms",
        f"lemma data (fresh interpreter): loaded in {mem['load_s']:.2f} s; "
        f"RSS {mem['before_mb']:.0f} MB -> {mem['after_mb']:.0f} MB "
        f"(+{mem['after_mb'] - mem['before_mb']:.0f} MB), peak {mem['peak_mb']:.0f} MB",
        f"warm/cold {fig['warm'] / fig['cold']:.1f}x; "
        f"cold/bare {fig['cold'] / fig['bare_simplemma']:.1f}x",
    ]
    return "\n".join(rows)


def main() -> None:
    print(report(run(quick="--quick" in sys.argv)))


if __name__ == "__main__":
    main()

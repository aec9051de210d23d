"""The floor: the bare libraries on the same bytes, each in a clean process of its own.

Owns the "bare library" baselines. ``python -m bench.bare feedparser DIR`` runs
``feedparser.parse(bytes)`` over every ``*.xml`` in DIR; ``python -m bench.bare
trafilatura DIR`` runs ``trafilatura.extract(html)`` (its defaults) over every ``*.html``.
Files are read and the library imported and warmed on one document before the clock
starts, so the CPU time printed (``time.process_time``) is the libraries' work alone:
what news-monitor cannot avoid paying. ``measure`` runs one in a subprocess and returns
its JSON line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def load(folder: Path, suffix: str) -> list[bytes]:
    return [path.read_bytes() for path in sorted(folder.glob(f"*{suffix}"))]


def bare_feedparser(folder: Path) -> dict[str, Any]:
    import feedparser

    documents = load(folder, ".xml")
    feedparser.parse(documents[0])
    started, cpu = time.perf_counter(), time.process_time()
    entries = sum(len(feedparser.parse(doc).entries) for doc in documents)
    return {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - started,
            "documents": len(documents), "entries": entries}


def bare_trafilatura(folder: Path) -> dict[str, Any]:
    import trafilatura

    documents = load(folder, ".html")
    trafilatura.extract(documents[0])
    started, cpu = time.perf_counter(), time.process_time()
    chars = sum(len(trafilatura.extract(doc) or "") for doc in documents)
    return {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - started,
            "documents": len(documents), "chars": chars}


def measure(library: str, folder: Path) -> dict[str, Any]:
    """One bare run in a fresh interpreter; its result as a dict."""
    done = subprocess.run([sys.executable, "-m", "bench.bare", library, str(folder)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def write_corpus(resources: dict[str, bytes], folder: Path, suffix: str) -> Path:
    """Write bodies to ``folder`` as numbered files, for the bare runs to read."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"*{suffix}"):
        old.unlink()
    for index, body in enumerate(resources.values()):
        (folder / f"{index:05d}{suffix}").write_bytes(body)
    return folder


def main(argv: list[str]) -> int:
    runner = {"feedparser": bare_feedparser, "trafilatura": bare_trafilatura}[argv[1]]
    print(json.dumps(runner(Path(argv[2]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

"""German lemmas from a compact table on disk, so the lemma dictionary never sits in memory.

simplemma's German dictionary (1.1 million word forms) costs about 100 MB once loaded into
a Python dict. ``LemmaTable`` is the same dictionary as an SQLite file (about 34 MB, read
through the operating system's page cache; a few MB resident), and ``table_lemmatizer``
plugs it into simplemma's own ``Lemmatizer`` as its dictionary, so every rule simplemma
applies (case variants, hyphens, prefixes, affixes) runs unchanged and the lemmas are the
same as ``simplemma.lemmatize``'s. The table is built from simplemma's shipped data by
``python -m monitor.match.lemmas`` (``make`` runs it when it sets up the virtual
environment). Where it is missing, or made for another simplemma version, it is built on
first use in a child process, so the dictionary is never loaded into this one.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_QUERY = "SELECT v FROM lemma WHERE k = ?"


def table_name(lang: str) -> str:
    """The file name of a language's table: built for one simplemma version."""
    return f"lemmas-{lang}-simplemma-{version('simplemma')}.sqlite"


def table_dirs() -> list[Path]:
    """Where a table is looked for and built: next to this module (``make`` builds it
    there), else the user's cache directory, else the temporary directory."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return [Path(__file__).resolve().parent / "data", cache / "news-monitor",
            Path(tempfile.gettempdir()) / f"news-monitor-{os.getuid()}"]


def find_table(lang: str) -> Path | None:
    return next((d / table_name(lang) for d in table_dirs()
                 if (d / table_name(lang)).is_file()), None)


def ensure_table(lang: str) -> Path:
    """The table's path, built first (in a child process) where it is missing."""
    found = find_table(lang)
    if found is not None:
        return found
    for folder in table_dirs():
        target = folder / table_name(lang)
        log.info("lemma_table_building lang=%s path=%s", lang, target)
        done = subprocess.run([sys.executable, "-m", "monitor.match.lemmas", lang, str(target)],
                              capture_output=True, text=True, check=False)
        if done.returncode == 0 and target.is_file():
            return target
        log.warning("lemma_table_failed path=%s error=%r", target, done.stderr[-300:])
    raise OSError(f"no lemma table for {lang!r} could be built in {table_dirs()}")


def build_table(lang: str, target: Path) -> None:
    """Write simplemma's dictionary for ``lang`` as a table at ``target`` (atomically)."""
    from simplemma.strategies.dictionaries.dictionary_factory import DEFAULT_DICTIONARY_FACTORY

    words = DEFAULT_DICTIONARY_FACTORY.get_dictionary(lang)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(partial) as conn:
        conn.execute("CREATE TABLE lemma (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID")
        conn.executemany("INSERT INTO lemma VALUES (?, ?)",
                         ((k, words[k]) for k in sorted(words)))
    conn.close()
    os.replace(partial, target)


class LemmaTable(Mapping[str, str]):
    """A read-only word form -> lemma mapping over a table file (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True,
                                     check_same_thread=False)
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._conn.execute(_QUERY, (key,)).fetchone()
        return row[0] if row is not None else default

    def __getitem__(self, key: str) -> str:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return str(found)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            keys = [k for (k,) in self._conn.execute("SELECT k FROM lemma ORDER BY k")]
        return iter(keys)

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM lemma").fetchone()[0])


class TableFactory:
    """simplemma's ``DictionaryFactory`` over our tables: one open table per language."""

    def __init__(self) -> None:
        self._tables: dict[str, LemmaTable] = {}

    def get_dictionary(self, lang: str) -> Mapping[str, str]:
        if lang not in self._tables:
            self._tables[lang] = LemmaTable(ensure_table(lang))
        return self._tables[lang]


def table_lemmatizer(lang: str) -> Any:
    """``simplemma.Lemmatizer`` (its default strategy, not greedy) reading the table for
    ``lang``; no cache of its own (``Normaliser`` keeps one)."""
    from simplemma import Lemmatizer
    from simplemma.strategies import DefaultStrategy

    factory = TableFactory()
    factory.get_dictionary(lang)   # open (or build) the table now, not on the first word
    return Lemmatizer(cache_max_size=0,
                      lemmatization_strategy=DefaultStrategy(dictionary_factory=factory))


def main(argv: list[str]) -> int:
    """``python -m monitor.match.lemmas [LANG [PATH]]``: build a table (default: German,
    next to this module)."""
    lang = argv[0] if argv else "de"
    target = Path(argv[1]) if len(argv) > 1 else table_dirs()[0] / table_name(lang)
    build_table(lang, target)
    print(f"lemma table {target} ({target.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Pure work the pipeline hands to the worker processes, named so it pickles by reference.

Each function here imports its heavy library when it runs, so the main process, which only
names it, never loads that library. A story signature needs datasketch's ``MinHash``; the
``datasketch`` package imports all its sketches on import, and its LSH classes bring scipy
(about 75 MB a process) that a signature never uses, so ``minhash_only`` loads the
``datasketch.minhash`` module alone (numpy and hashlib; about 4 MB). Run in a worker
through ``Extractor.offload``, or here when the pool cannot take it.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import logging
import sys
import types

from monitor.models import Page

log = logging.getLogger(__name__)


def story_signature(text: str) -> bytes:
    """``monitor.deltas.cluster.signature`` of an article's text."""
    minhash_only()
    from monitor.deltas.cluster import signature

    return signature(text)


def with_signature(page: Page) -> Page:
    """The page with the story signature of its text (``Page.signature``), made in the
    extraction task that made the page; as it was when it has no text of its own or the
    signature fails (the pipeline then makes it as it does for a feed summary)."""
    if page.status != "ok" or not page.text:
        return page
    try:
        return dataclasses.replace(page, signature=story_signature(page.text))
    except Exception as exc:  # never lose the page to its signature
        log.warning("signature_failed url=%s error=%r", page.url, exc)
        return page


def minhash_only() -> None:
    """Make ``from datasketch import MinHash`` load the ``datasketch.minhash`` module
    without the package's ``__init__`` (its other sketches and scipy). Nothing happens when
    datasketch is imported already; on any surprise the package is imported as it is."""
    if "datasketch" in sys.modules:
        return
    spec = importlib.util.find_spec("datasketch")
    if spec is None or not spec.submodule_search_locations:
        return
    package = types.ModuleType("datasketch")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    sys.modules["datasketch"] = package
    try:
        package.MinHash = importlib.import_module("datasketch.minhash").MinHash  # type: ignore[attr-defined]
    except Exception as exc:  # a datasketch laid out otherwise: load it whole
        log.debug("datasketch_minhash_only failed error=%r", exc)
        for name in [n for n in sys.modules if n == "datasketch" or n.startswith("datasketch.")]:
            del sys.modules[name]
        importlib.import_module("datasketch")

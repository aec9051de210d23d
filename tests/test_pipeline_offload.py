"""Work handed to the workers gives what it gives in the main process, without scipy."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from monitor.deltas.cluster import signature

TEXT = " ".join(f"Der Händler {n} verkaufte über die Plattform mehr Waren als im Vorjahr."
                for n in range(12))


def test_story_signature_is_the_cluster_signature_without_scipy() -> None:
    probe = ("import json, sys\n"
             "from monitor.pipeline.offload import story_signature\n"
             f"sig = story_signature({TEXT!r})\n"
             "print(json.dumps([sig.hex(), 'scipy' in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    sig, scipy_loaded = json.loads(done.stdout)
    assert bytes.fromhex(sig) == signature(TEXT) != b""
    assert scipy_loaded is False


def test_the_extraction_task_signs_the_page_it_made_and_only_a_text_of_its_own() -> None:
    from monitor.extract.pool import ExtractOptions, Extractor
    from monitor.models import Page
    from monitor.pipeline.offload import with_signature

    article = ("<html><head><title>Händler</title></head><body><article><h1>Händler</h1>"
               + "".join(f"<p>{TEXT}</p>" for _ in range(2)) + "</article></body></html>")
    wall = "<html><body><p>Kurz.</p></body></html>"

    async def main() -> list[Page]:
        extractor = Extractor(ExtractOptions(workers=1, budget_seconds=30))
        try:
            return [await extractor.extract(html.encode(), url="https://example.org/a",
                                            feed_title="Händler", feed_summary="Kurz gefasst.",
                                            after=with_signature) for html in (article, wall)]
        finally:
            await extractor.aclose()

    signed, unsigned = asyncio.run(main())
    assert signed.status == "ok" and signed.signature == signature(signed.text) != b""
    assert unsigned.signature is None      # its text is the feed's: the pipeline signs that


def test_worker_preload_loads_minhash_and_warms_without_scipy(tmp_path: Path) -> None:
    """What the forkserver imports once for every worker: the MinHash module (not the
    datasketch package with scipy), the clustering code, and a warm extraction that has read
    the public-suffix list; the signature made afterwards is the usual one."""
    from monitor.app.settings import WORKER_PRELOAD, extract_options
    from monitor.config.model import load_config

    probe = ("import json, sys\n"
             f"for name in {list(WORKER_PRELOAD)!r}:\n"
             "    __import__(name)\n"
             "import tld.utils\n"
             "from monitor.deltas.cluster import signature\n"
             f"sig = signature({TEXT!r})\n"
             "print(json.dumps([sig.hex(), 'scipy' in sys.modules,\n"
             "                  'datasketch.minhash' in sys.modules,\n"
             "                  bool(tld.utils.tld_names)]))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    sig, scipy_loaded, minhash_loaded, suffixes_read = json.loads(done.stdout)
    assert bytes.fromhex(sig) == signature(TEXT) != b""
    assert (scipy_loaded, minhash_loaded, suffixes_read) == (False, True, True)
    config = tmp_path / "monitor.toml"
    config.write_text('[[feeds]]\nname = "F"\nurl = "https://example.org/feed"\n',
                      encoding="utf-8")
    options = extract_options(load_config(config, {}))
    assert options.preload == WORKER_PRELOAD

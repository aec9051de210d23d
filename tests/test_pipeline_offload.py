"""Work handed to the workers gives what it gives in the main process, without scipy."""

from __future__ import annotations

import json
import subprocess
import sys

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

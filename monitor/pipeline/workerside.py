"""What the worker processes load before their first task, imported once by the forkserver.

Owns no code, only loading: the story signature's MinHash module alone (``offload``'s
``minhash_only``: numpy and datasketch's MinHash, not the package's scipy), the clustering
code, and one warm-up extraction (``monitor.extract.pool.warm_up``: the public-suffix list
and trafilatura's lazy parts). The pool replaces its workers every few hundred tasks; each
new worker is forked with these loaded instead of loading them again on its first tasks.
The main process never imports this module.
"""

from __future__ import annotations

from monitor.pipeline.offload import minhash_only

minhash_only()

import monitor.deltas.cluster  # noqa: E402,F401  (after minhash_only: datasketch's MinHash alone)
from monitor.extract.pool import warm_up  # noqa: E402

warm_up()

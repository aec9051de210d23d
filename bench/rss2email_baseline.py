"""The peer baseline: rss2email 3.14 on the same feeds, in a virtual environment of its own.

Owns installing rss2email (``pip install rss2email==3.14`` into ``bench/.work/r2e-venv``,
never into the project's environment), a template made with rss2email's own commands
(``new`` and one ``add`` per feed, through its command-line entry point in one
interpreter; kept and reused while the feed list is the same, with the server's address
substituted), and timed runs: per run a fresh copy of
the template delivering to a Maildir, ``r2e run`` twice (first: every entry becomes a
mail; second: every feed answers 304). Each run's wall time, CPU time and peak RSS come
from ``os.wait4`` on the ``r2e`` process itself. If rss2email cannot be installed,
``ensure_installed`` says why and nothing is measured.
"""

from __future__ import annotations

import configparser
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERSION = "3.14"
TEMPLATE_HOST = "http://127.0.0.1:1"
# `r2e new` then `r2e add NAME URL` per line of stdin: rss2email's own command-line entry
# point called in one interpreter (200 separate `r2e add` processes take ~100 s).
ADD_SCRIPT = """
import sys
from rss2email.main import run
base = ["-c", sys.argv[1], "-d", sys.argv[2]]
run(base + ["new", "analyst@example.org"])
for line in sys.stdin:
    name, url = line.split()
    run(base + ["add", name, url])
"""


@dataclass
class Rss2Email:
    """rss2email installed under ``workdir``; ``error`` says why it is not, when it is not."""

    workdir: Path
    error: str | None = None

    @property
    def r2e(self) -> Path:
        return self.workdir / "r2e-venv" / "bin" / "r2e"

    def ensure_installed(self) -> bool:
        """Create the venv and install rss2email 3.14 once; False (with ``error``) on failure."""
        if self.r2e.exists() and self._version_ok():
            return True
        venv = self.workdir / "r2e-venv"
        shutil.rmtree(venv, ignore_errors=True)
        steps = [[sys.executable, "-m", "venv", str(venv)],
                 [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                  f"rss2email=={VERSION}"]]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=600)
            if done.returncode != 0:
                self.error = f"{' '.join(step[-3:])} failed: {done.stderr.strip()[-400:]}"
                return False
        return self._version_ok()

    def _version_ok(self) -> bool:
        done = subprocess.run([str(self.r2e), "--version"], capture_output=True, text=True,
                              check=False)
        if VERSION not in done.stdout + done.stderr:
            self.error = f"r2e --version says {(done.stdout + done.stderr).strip()!r}"
            return False
        return True

    def template(self, feeds: Sequence[tuple[str, str]], base_url: str) -> Path:
        """A config and data file made by ``r2e new`` and ``r2e add`` (cached per feed list)."""
        relative = [(name, url.replace(base_url, TEMPLATE_HOST)) for name, url in feeds]
        key = hashlib.sha256(repr(relative).encode()).hexdigest()[:12]
        folder = self.workdir / f"r2e-template-{key}"
        if (folder / "done").exists():
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        lines = "".join(f"kurier-{index} {url}\n" for index, (_name, url) in enumerate(relative))
        subprocess.run([str(self.r2e.parent / "python"), "-c", ADD_SCRIPT,
                        str(folder / "r2e.cfg"), str(folder / "r2e.json")], input=lines,
                       text=True, check=True, capture_output=True)
        (folder / "done").write_text("ok")
        return folder

    def prepare_run(self, template: Path, base_url: str, folder: Path) -> Path:
        """A fresh copy of ``template`` pointing at ``base_url``, delivering to a Maildir."""
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "Maildir").mkdir(parents=True)
        for name in ("r2e.cfg", "r2e.json"):
            text = (template / name).read_text(encoding="utf-8")
            (folder / name).write_text(text.replace(TEMPLATE_HOST, base_url), encoding="utf-8")
        config = configparser.ConfigParser(interpolation=None)
        config.read(folder / "r2e.cfg", encoding="utf-8")
        config["DEFAULT"].update({"email-protocol": "maildir",
                                  "maildir-path": str(folder / "Maildir"),
                                  "maildir-mailbox": "INBOX", "verbose": "warning",
                                  "same-server-fetch-interval": "0", "feed-timeout": "60"})
        with (folder / "r2e.cfg").open("w", encoding="utf-8") as handle:
            config.write(handle)
        return folder

    def timed_run(self, folder: Path) -> dict[str, Any]:
        """``r2e run`` once: wall seconds, CPU seconds, peak RSS (MB) and mails in the Maildir."""
        command = [str(self.r2e), "-c", str(folder / "r2e.cfg"), "-d", str(folder / "r2e.json"),
                   "run"]
        with (folder / "stderr.txt").open("a") as errors:
            started = time.perf_counter()
            proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
            _pid, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        mails = sum(1 for _ in (folder / "Maildir" / "INBOX" / "new").glob("*")) \
            if (folder / "Maildir" / "INBOX" / "new").exists() else 0
        return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                "peak_rss_mb": usage.ru_maxrss / 1024, "mails": mails,
                "exit": proc.returncode}


def run_rss2email(r2e: Rss2Email, feeds: Sequence[tuple[str, str]], base_url: str, runs: int,
                  workdir: Path, budget: float | None = None) -> list[dict[str, Any]]:
    """``runs`` pairs of first and second ``r2e run`` on fresh copies; [] if not installed.

    No further pair starts once ``budget`` seconds have passed."""
    if not r2e.ensure_installed():
        return []
    template = r2e.template(feeds, base_url)
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    for run in range(runs):
        if budget and results and time.perf_counter() - started > budget:
            print(f"  (rss2email: stopping after {run} run(s): time budget)", flush=True)
            break
        folder = r2e.prepare_run(template, base_url, workdir / f"r2e-run-{run}")
        first = r2e.timed_run(folder)
        second = r2e.timed_run(folder)
        results.append({"first": first, "second": {**second, "mails": second["mails"]
                                                   - first["mails"]}})
        print(f"  rss2email run {run + 1}/{runs}: first {first['wall_s']:.2f} s "
              f"({first['mails']} mails), second {second['wall_s']:.3f} s", flush=True)
    return results

"""The shipped systemd unit: it verifies cleanly and its sandbox scores at most 1.5.

``systemd-analyze verify`` checks that ExecStart's binary exists and is executable; the
real one (/opt/news-monitor/venv/bin/news-monitor) exists only on an installed server. So
we verify a copy whose ExecStart points at an executable script in tmp_path and change
nothing else. verify reports unknown keys and unparsable values as warnings yet exits 0,
so a clean result is exit code 0 AND no output; a deliberately broken copy shows that
check can fail. ``--man=no --generators=no`` keep it from depending on the host's man
pages and generators. Skipped only where systemd-analyze is not installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "news-monitor.service"
REAL_BINARY = "/opt/news-monitor/venv/bin/news-monitor"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed")


def directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def installable_copy(tmp_path: Path, text: str) -> Path:
    """The unit with ExecStart's binary replaced by an executable that exists."""
    binary = tmp_path / "bin" / "news-monitor"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    assert REAL_BINARY in text
    unit = tmp_path / "news-monitor.service"
    unit.write_text(text.replace(REAL_BINARY, str(binary)))
    return unit


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ANALYZE), "verify", "--man=no", "--generators=no", str(unit)],
        capture_output=True, text=True, timeout=60,
    )


def test_unit_declares_the_daemon_contract() -> None:
    d = directives(UNIT.read_text())
    assert d["Type"] == ["notify"] and d["NotifyAccess"] == ["main"]
    assert d["ExecStart"] == [f"{REAL_BINARY} --config /etc/news-monitor/monitor.toml run"]
    assert d["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert d["WatchdogSec"] == ["60"] and d["Restart"] == ["on-failure"]
    assert d["LoadCredential"] == ["smtp-password:/etc/news-monitor/smtp-password"]
    assert d["DynamicUser"] == ["yes"] and d["StateDirectory"] == ["news-monitor"]
    assert d["CapabilityBoundingSet"] == [""] and d["MemoryDenyWriteExecute"] == ["yes"]


@needs_analyze
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    result = verify(installable_copy(tmp_path, UNIT.read_text()))
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).strip() == ""


@needs_analyze
def test_verify_check_catches_a_typo(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("WatchdogSec=60", "WatchdgSec=60")
    result = verify(installable_copy(tmp_path, broken))
    assert "Unknown key 'WatchdgSec'" in result.stdout + result.stderr


@needs_analyze
def test_security_exposure_is_at_most_1_5() -> None:
    result = subprocess.run(
        [str(ANALYZE), "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout[-500:]
    assert float(found.group(1)) <= 1.5, result.stdout

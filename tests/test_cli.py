"""The command line itself: every registered command answers --help; errors are clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.commands import load_all
from tests.conftest import run_cli, write_config

EXPECTED = {"check-config", "poll", "feeds", "run", "explain", "deltas", "digest", "outbox",
            "test-email", "demo"}


def test_every_command_is_registered() -> None:
    assert set(load_all().commands) >= EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_command_answers_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: news-monitor {name}")
    assert load_all().commands[name].help in " ".join(out.split())


def test_check_config_summary_and_missing_file(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, [{"name": "Kurier", "url": "https://example.org/feed"}])
    assert main(["--config", str(config), "check-config"]) == 0
    out = capsys.readouterr().out
    assert "feeds:    1 enabled of 1" in out and "topics:   alibaba-russland" in out
    assert main(["--config", str(tmp_path / "fehlt.toml"), "check-config"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deltas", "--since", "gestern"]) == 2
    assert "argument --since: not a duration: 'gestern'" in capsys.readouterr().err


def test_config_from_environment_and_module_entry(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "Kurier", "url": "https://example.org/feed"}])
    result = run_cli("check-config", env={"NEWS_MONITOR_CONFIG": str(config)}, cwd=tmp_path)
    assert result.returncode == 0 and str(config) in result.stdout


def test_bad_topic_query_is_a_config_error(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, [], topics=False,
                          extra='[[topics]]\nname = "kaputt"\nquery = "(alibaba AND"\n')
    assert main(["--config", str(config), "check-config"]) == 2
    err = capsys.readouterr().err
    assert 'topics[0] ("kaputt").query: column' in err and "expected" in err


def test_the_command_line_loads_no_library_of_a_command_not_run() -> None:
    """Every command's process, the service's included, builds the whole parser: the desk's
    web framework and Atom feeds, OPML reading and the demo's SMTP server are imported by
    their own commands only (before, they added 13 MB to the service's process)."""
    import subprocess
    import sys

    probe = ("import sys\n"
             "from monitor.cli import build_parser\n"
             "build_parser()\n"
             "import monitor.service.daemon\n"
             "print(sorted(m for m in ('aiosmtpd', 'feedgen', 'listparser', 'lxml', "
             "'requests', 'starlette', 'trafilatura', 'feedparser') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr

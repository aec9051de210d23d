"""The first hour's documentation: the README's command table, the demo's topic file, the
install guide and the systemd docs, checked against the code and the unit they describe."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from monitor.cli import build_parser
from tests.conftest import ROOT, run_cli, write_config

README = (ROOT / "README.md").read_text(encoding="utf-8")
INSTALL = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
SYSTEMD = (ROOT / "systemd" / "README.md").read_text(encoding="utf-8")
UNIT = (ROOT / "systemd" / "news-monitor.service").read_text(encoding="utf-8")


def commands_section() -> str:
    return README.split("## Commands\n", 1)[1].split("\n## ", 1)[0]


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings if o not in ("-h", "--help")}


def test_readme_lists_every_command_action_and_flag() -> None:
    table = commands_section()
    parser = build_parser()
    assert options(parser) <= set(re.findall(r"--[\w-]+", table.split("| command |")[0]))
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    for name, command in subparsers(parser).items():
        mine = [r for r in rows if r.startswith(f"| `{name}")]
        assert mine, f"{name} is missing from the README's command table"
        flags = set(re.findall(r"--[\w-]+", " ".join(r.split("` |")[0] for r in mine)))
        assert options(command) <= flags, (name, options(command) - flags)
        for action, child in subparsers(command).items():
            assert any(r.startswith(f"| `{name} {action}") for r in mine), (name, action)
            assert options(child) <= flags


def test_demo_topic_copy_says_what_it_is() -> None:
    data = ROOT / "monitor" / "commands" / "demo" / "data" / "topic-alibaba-russland.toml"
    text = data.read_text(encoding="utf-8")
    assert "pasted" not in text
    assert "The demo's copy of the [aliases] and [[topics]] of config/monitor.toml" in text


def test_install_guide_clones_a_named_placeholder() -> None:
    clone = [line for line in INSTALL.splitlines() if "git clone" in line]
    assert clone == ["sudo git clone <your mirror of this repository> /opt/news-monitor/src"
                     "   # or unpack a release"]


@pytest.mark.parametrize("doc", [INSTALL, SYSTEMD], ids=["install.md", "systemd/README.md"])
def test_systemd_docs_run_commands_as_the_service_in_one_line(doc: str) -> None:
    alias = [line for line in doc.splitlines() if line.startswith("alias nm=")]
    assert len(alias) == 1
    words = shlex.split(alias[0].split("=", 1)[1])[0].split()
    assert words[:2] == ["sudo", "systemd-run"] and "--wait" in words
    properties = {words[i + 1] for i, w in enumerate(words) if w == "-p"}
    unit = set(re.findall(r"^(?:DynamicUser|StateDirectory|LoadCredential|SetCredential)=.+$",
                          UNIT, re.MULTILINE))
    assert unit <= properties and "User=news-monitor" in properties
    assert words[-3:] == ["/opt/news-monitor/venv/bin/news-monitor", "--config",
                          "/etc/news-monitor/monitor.toml"]
    assert "nm feeds" in doc
    assert "/var/lib/private/news-monitor/mail" in doc and "mutt -R -f" in doc
    assert "SetCredential=smtp-password:\\n" in doc and "status=243/CREDENTIALS" in doc


def test_a_blank_credential_is_no_password(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "smtp-password").write_text("\n", encoding="utf-8")   # the unit's blank
    config = write_config(tmp_path, [{"name": "Kurier", "url": "https://kurier.example/f"}],
                          extra='[email.smtp]\nhost = "127.0.0.1"\nusername = "desk"\n')
    result = run_cli("check-config", config=config,
                     env={"CREDENTIALS_DIRECTORY": str(credentials)})
    assert result.returncode == 2
    assert ("email.smtp.username: the systemd credential 'smtp-password' is empty: the file "
            "its LoadCredential= line names is missing or empty") in result.stderr
    without_login = write_config(tmp_path, [{"name": "Kurier", "url": "https://kurier.example/f"}],
                                 extra='[email.smtp]\nhost = "127.0.0.1"\n')
    fine = run_cli("check-config", config=without_login,
                   env={"CREDENTIALS_DIRECTORY": str(credentials)})
    assert fine.returncode == 0, fine.stderr

"""The desk's configuration and commands: ``[web]`` with its problems named by key, the
secret from a file, the environment, a systemd credential or the state directory, API
tokens from files, ``hash-password``, ``backfill``, and the desk served by ``run`` and by
``web`` as real processes."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from monitor.app.settings import web_settings
from monitor.cli import main
from monitor.config.model import load_config
from monitor.errors import ConfigError
from monitor.web.passwords import check_password, hash_password
from tests.conftest import free_port, run_cli, write_config

HASH = hash_password("lange-genug-2026")


def _config(tmp_path: Path, web: str) -> Path:
    return write_config(tmp_path, [{"name": "kurier", "url": "http://127.0.0.1:9/rss"}],
                        extra=web)


def test_a_desk_beyond_this_machine_needs_a_user(tmp_path: Path) -> None:
    path = _config(tmp_path, '[web]\nlisten = "0.0.0.0:8080"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert any("users" in p and "0.0.0.0:8080" in p for p in caught.value.problems)
    users = f'[[web.users]]\nname = "anna"\npassword_hash = "{HASH}"\n'
    assert load_config(_config(tmp_path, '[web]\nlisten = "0.0.0.0:8080"\n' + users), {}).web


def test_problems_are_named_by_their_key(tmp_path: Path) -> None:
    path = _config(tmp_path, '[web]\nlisten = "irgendwo"\nsecret = "nein"\n'
                             '[[web.users]]\nname = "anna"\npassword_hash = "klartext"\n'
                             '[[web.tokens]]\nname = "tool"\ntoken_file = "fehlt.txt"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    text = "\n".join(caught.value.problems)
    assert "web.secret: unknown key (did you mean 'secret_file'?)" in text
    assert "web.users[0].password_hash: not a password hash" in text
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, '[web]\n[[web.tokens]]\nname = "tool"\n'
                                      'token_file = "fehlt.txt"\n'), {})
    assert "web.tokens[0] ('tool').token_file: cannot read" in caught.value.problems[0]
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, '[web]\nlisten = "irgendwo"\n'), {})
    assert "web: listen: not host:port: 'irgendwo'" in caught.value.problems


def test_the_secret_from_file_env_credential_or_the_state_directory(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("aus-der-datei\n")
    (tmp_path / "token").write_text("ein-token-mit-genug-zeichen\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "web-secret").write_text("aus-dem-credential")
    base = '[web]\n[[web.tokens]]\nname = "tool"\ntoken_file = "token"\n'
    with_file = _config(tmp_path, '[web]\nsecret_file = "secret"\n'
                                  '[[web.tokens]]\nname = "tool"\ntoken_file = "token"\n')
    settings = web_settings(load_config(with_file, {}))
    assert settings is not None and settings.secret == "aus-der-datei"
    assert settings.tokens == (("tool", "ein-token-mit-genug-zeichen"),)
    assert "aus-der-datei" not in repr(settings)
    path = _config(tmp_path, base)
    env = web_settings(load_config(path, {"NEWS_MONITOR_WEB_SECRET": "aus-der-umgebung"}))
    assert env is not None and env.secret == "aus-der-umgebung"
    cred = web_settings(load_config(path, {"CREDENTIALS_DIRECTORY": str(creds)}))
    assert cred is not None and cred.secret == "aus-dem-credential"
    state = tmp_path / "state"
    made = web_settings(load_config(path, {"STATE_DIRECTORY": str(state)}))
    again = web_settings(load_config(path, {"STATE_DIRECTORY": str(state)}))
    assert made is not None and again is not None and made.secret == again.secret
    assert len(made.secret) >= 32


def test_hash_password_reads_standard_input(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("lange-genug-2026\n"))
    assert main(["hash-password"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("$scrypt$") and check_password("lange-genug-2026", line)
    assert not check_password("lange-genug-2027", line)
    monkeypatch.setattr(sys, "stdin", io.StringIO("kurz\n"))
    assert main(["hash-password"]) == 2


def test_backfill_command(tmp_path: Path) -> None:
    config = _config(tmp_path, "")
    unknown = run_cli("backfill", "--topic", "gibt-es-nicht", config=config)
    assert unknown.returncode == 2 and "unknown topic" in unknown.stderr
    done = run_cli("backfill", "--topic", "alibaba-russland", "--since", "7d", config=config)
    assert done.returncode == 0, done.stderr
    assert "0 stories found for alibaba-russland" in done.stdout


def test_web_without_a_web_section_says_so(tmp_path: Path) -> None:
    result = run_cli("web", config=_config(tmp_path, ""))
    assert result.returncode == 2 and "web: no [web] section" in result.stderr


def _wait_for(url: str, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("command", ["run", "web"])
def test_the_desk_is_served_by_run_and_by_web(tmp_path: Path, command: str) -> None:
    port = free_port()
    config = _config(tmp_path, f'[web]\nlisten = "127.0.0.1:{port}"\n'
                               f'[[web.users]]\nname = "anna"\npassword_hash = "{HASH}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
    process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config),
                                command], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        login = _wait_for(f"http://127.0.0.1:{port}/login")
        assert login.status_code == 200 and "Anmelden" in login.text
        assert "default-src 'self'" in login.headers["content-security-policy"]
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert (home.status_code, home.headers["location"]) == (303, "/login?next=%2F")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output

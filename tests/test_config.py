"""Configuration: every kind of error names its key path; defaults and secrets behave."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.model import config_path, load_config, parse_duration, parse_size
from monitor.errors import ConfigError

FEED = '[[feeds]]\nname = "tagesschau"\nurl = "https://www.tagesschau.de/index~rss2.xml"\n'
TOPIC = '[[topics]]\nname = "handel"\nquery = "aussenhandel"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env or {})
    return caught.value.problems


def test_defaults_fill_storage_state_and_feed_settings(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FEED), {})
    assert config.storage.url == f"sqlite:///{tmp_path}/var/monitor.db"   # beside the file
    assert config.feeds[0].interval == timedelta(minutes=15)
    assert config.feeds[0].full_text and config.feeds[0].enabled
    assert config.alerts.first_poll_window == timedelta(hours=24)
    assert config.fetch.allow_private_hosts == ()
    assert config.fetch.user_agent.startswith("news-monitor/")


def test_state_directory_from_systemd(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FEED), {"STATE_DIRECTORY": "/var/lib/news-monitor"})
    assert config.storage.url == "sqlite:////var/lib/news-monitor/monitor.db"


def test_misspelt_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    found = problems(tmp_path, TOPIC + FEED + 'intervall = "5m"\n')
    assert found == ['feeds[0] ("tagesschau").intervall: unknown key (did you mean \'interval\'?)']


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (FEED + '[[feeds]]\nname = "b"\nurl = "ftp://example.org/"\ninterval = "bald"\n'
            + '[[feeds]]\nname = "tagesschau"\nurl = "https://example.org/"\n'
            + '[fetch]\nmax_bytes = "viel"\n[digest]\ntimezone = "Mars/Olympus"\n')
    found = problems(tmp_path, text)
    assert 'feeds[1] ("b").url: not an http(s) URL' in found
    assert any(p.startswith('feeds[1] ("b").interval: not a duration') for p in found)
    assert 'feeds[2] ("tagesschau").name: duplicate name \'tagesschau\'' in found
    assert any(p.startswith("fetch.max_bytes: not a size") for p in found)
    assert "digest.timezone: unknown time zone: 'Mars/Olympus'" in found


def test_missing_required_key(tmp_path: Path) -> None:
    assert problems(tmp_path, TOPIC + '[[feeds]]\nname = "x"\n') == [
        'feeds[0] ("x").url: required key is missing']


def test_toml_syntax_error_is_explained(tmp_path: Path) -> None:
    found = problems(tmp_path, "[fetch\n")
    assert found[0].startswith("not valid TOML:") and "line 1" in found[0]


def test_password_in_file_is_refused(tmp_path: Path) -> None:
    text = '[email.smtp]\nhost = "smtp.example.org"\nusername = "u"\npassword = "geheim"\n'
    found = problems(tmp_path, text, {"NEWS_MONITOR_SMTP_PASSWORD": "x"})
    assert found[0].startswith("email.smtp.password: secrets never live in the config file")


def test_password_sources(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("aus-datei\n")
    smtp = '[email.smtp]\nhost = "smtp.example.org"\nusername = "u"\n'
    from_file = load_config(write(tmp_path, smtp + f'password_file = "{secret}"\n'), {})
    assert from_file.smtp_password == "aus-datei"
    from_env = load_config(write(tmp_path, smtp), {"NEWS_MONITOR_SMTP_PASSWORD": "aus-env"})
    assert from_env.smtp_password == "aus-env"
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "smtp-password").write_text("aus-credential")
    from_creds = load_config(write(tmp_path, smtp), {"CREDENTIALS_DIRECTORY": str(creds)})
    assert from_creds.smtp_password == "aus-credential"
    assert "aus-credential" not in repr(from_creds)
    missing = problems(tmp_path, smtp)
    assert missing[0].startswith("email.smtp.username: no password found")


def test_reserved_keys_cannot_be_set(tmp_path: Path) -> None:
    assert problems(tmp_path, 'smtp_password = "x"\n' + FEED + TOPIC) == [
        "smtp_password: unknown key"]


def test_units() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_size("10MB") == 10_000_000
    assert parse_size("512KiB") == 524_288


def test_config_path_precedence() -> None:
    assert config_path("a.toml", {"NEWS_MONITOR_CONFIG": "b.toml"}) == Path("a.toml")
    assert config_path(None, {"NEWS_MONITOR_CONFIG": "b.toml"}) == Path("b.toml")
    assert config_path(None, {}) == Path("config/monitor.toml")


def test_shipped_config_is_valid() -> None:
    config = load_config(Path(__file__).parent.parent / "config" / "monitor.toml", {})
    assert len(config.enabled_feeds) >= 12
    assert any("news.google.com" in f.url for f in config.feeds)

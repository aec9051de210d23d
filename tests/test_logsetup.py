"""Log lines as an operator reads them on stderr or in the journal: format and redaction."""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.service.logs import QUIET, RedactingFilter, configure_logging

SECRET = "Pa55-wört!"
log = logging.getLogger("monitor.test")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in QUIET}
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def capture(level: str = "INFO", **options: object) -> io.StringIO:
    out = io.StringIO()
    configure_logging(level, stream=out, secrets=[SECRET], env={}, **options)  # type: ignore[arg-type]
    return out


def test_line_format_with_iso_timestamp() -> None:
    out = capture()
    log.info("fetched feed=%s status=%d took_ms=%d", "handelsblatt", 200, 312)
    line = out.getvalue()
    pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 INFO monitor.test: "
    assert re.fullmatch(pattern + r"fetched feed=handelsblatt status=200 took_ms=312\n", line)


def test_registered_secret_is_masked_in_every_form() -> None:
    out = capture()
    log.info("smtp login user=desk pass=%s", SECRET)
    log.warning("connect failed url=smtp://desk:%s@mail.example.org:587", SECRET)
    log.warning("query was %s", "pw=Pa55-w%C3%B6rt%21")
    text = out.getvalue()
    assert SECRET not in text and "w%C3%B6rt" not in text
    assert "user=desk pass=***" in text
    assert "url=smtp://desk:***@mail.example.org:587" in text
    assert "query was pw=***" in text


def test_password_fields_and_authorization_headers_are_masked() -> None:
    out = capture("DEBUG")
    log.info("config smtp_password=%s password_file=%s", "hunter22", "/run/credentials/x")
    log.debug("request headers=%s", {"Authorization": "Bearer eyJhbGciOi.abc", "Accept": "*/*"})
    log.debug("raw Authorization: Basic ZGVzazpodW50ZXIyMg== sent")
    log.info("settings %s", {"api_key": "sk-123456", "token": "t0k3n"})
    text = out.getvalue()
    for leaked in ("hunter22", "eyJhbGciOi", "ZGVzazpodW50ZXIyMg", "sk-123456", "t0k3n"):
        assert leaked not in text
    assert "smtp_password=*** password_file=/run/credentials/x" in text
    assert "'Authorization': 'Bearer ***', 'Accept': '*/*'" in text
    assert "raw Authorization: Basic *** sent" in text


def test_tracebacks_are_redacted_too() -> None:
    out = capture()
    try:
        raise PermissionError(f"535 authentication failed for desk:{SECRET}")
    except PermissionError:
        log.exception("mail failed kind=alert")
    text = out.getvalue()
    assert "ERROR monitor.test: mail failed kind=alert\nTraceback (most recent call last):" in text
    assert "PermissionError: 535 authentication failed for desk:***" in text
    assert SECRET not in text


def test_newlines_in_messages_cannot_forge_lines() -> None:
    out = capture()
    log.info("new entry title=%r", "Aliexpress\nERROR monitor.fetch: gefälscht")
    assert out.getvalue().count("\n") == 1
    assert "title='Aliexpress\\nERROR monitor.fetch: gefälscht'" in out.getvalue()


def test_journald_lines_carry_priority_not_timestamp(tmp_path: Path) -> None:
    with open(tmp_path / "journal", "w", encoding="utf-8") as stream:
        info = os.fstat(stream.fileno())
        env = {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"}
        configure_logging("INFO", stream=stream, env=env)
        log.warning("feed failing feed=tagesschau errors=3")
        logging.getLogger().handlers[-1].flush()
    text = (tmp_path / "journal").read_text(encoding="utf-8")
    assert text == "<4>WARNING monitor.test: feed failing feed=tagesschau errors=3\n"


def test_journal_stream_of_another_file_is_ignored() -> None:
    out = io.StringIO()
    configure_logging("INFO", stream=out, env={"JOURNAL_STREAM": "8:12345"})
    log.info("started")
    assert re.match(r"\d{4}-\d\d-\d\dT", out.getvalue())


def test_noisy_libraries_are_quiet_and_reconfiguring_replaces() -> None:
    capture()
    out = capture()
    logging.getLogger("httpx").info("HTTP Request: GET https://www.handelsblatt.com/rss")
    logging.getLogger("apscheduler.executors.default").info('Job "poll" executed')
    logging.getLogger("httpx").warning("retrying")
    log.debug("invisible at INFO")
    log.info("once")
    lines = out.getvalue().splitlines()
    expected = ["WARNING httpx: retrying", "INFO monitor.test: once"]
    assert [line.split(" ", 1)[1] for line in lines] == expected


def test_unknown_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="logging level 'LOUD'"):
        configure_logging("LOUD", stream=io.StringIO())


def test_a_broken_format_string_is_logged_redacted_not_raised() -> None:
    out = capture()
    root = logging.getLogger()
    root.handlers[:] = root.handlers[-1:]  # only ours: pytest's capture handler would raise
    log.info("login user=%s %d", "desk", SECRET)
    assert "monitor.test: login user=%s %d args=('desk', '***')" in out.getvalue()


def test_short_secrets_are_not_registered() -> None:
    assert RedactingFilter(["ab", ""]).redact("ab cd") == "ab cd"

"""``digest --send`` and the scheduled digest share one identity per route and day: a second
``--send`` sends nothing it sent before and says so, ``--send --empty`` sends an empty digest
on purpose, and the scheduled digest of a day already sent by hand is not made again. A real
poll of a local news site, a real SMTP server on 127.0.0.1, one SQLite store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.app.wiring import open_app
from monitor.cli import main
from monitor.notify.digest import DigestResult, DigestSkipped
from monitor.store.schema import digests as digest_rows
from tests.conftest import NewsSite, SmtpServer
from tests.test_delivery_e2e import _state_here, cli, config_file, load, publish
from tests.test_store_support import rows

__all__ = ["_state_here"]          # the autouse fixture: state under tmp_path
DIGEST = "Tagesübersicht"


def digests(smtp: SmtpServer) -> list[str]:
    return [str(m.get_body(("plain",)).get_content()) for m in smtp.inbox.messages  # type: ignore[union-attr]
            if DIGEST in str(m["Subject"])]


def scheduled(path: Path) -> DigestResult | DigestSkipped:
    async def run() -> DigestResult | DigestSkipped:
        async with open_app(load(path)) as app:
            [(_, made)] = await app.make_digests()
            return made
    return asyncio.run(run())


def test_send_twice_sends_once_and_says_there_is_nothing_new(
        site: NewsSite, smtp: SmtpServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    publish(site)
    path = config_file(tmp_path, site, smtp.port)
    assert cli(capsys, path, "poll")[0] == 0
    code, out = cli(capsys, path, "digest", "--send")
    assert code == 0 and "1 events" in out, out
    code, out = cli(capsys, path, "digest", "--send")
    assert code == 0 and "nothing new since the digest of " in out, out
    assert "no digest sent (--send --empty sends one anyway)" in out
    [sent] = digests(smtp)
    assert "AliExpress Russland streicht" in sent

    skipped = scheduled(path)                     # the daemon at digest time, the same day
    assert isinstance(skipped, DigestSkipped) and skipped.reason == "done"
    assert len(digests(smtp)) == 1

    code, out = cli(capsys, path, "digest", "--send", "--empty")
    assert code == 0 and "0 events" in out, out
    _, empty = digests(smtp)
    assert "Keine neuen Meldungen" in empty and "AliExpress Russland streicht" not in empty
    db = f"sqlite:///{tmp_path / 'state' / 'monitor.db'}"
    periods = [r.period for r in rows(db, select(digest_rows.c.period).order_by(digest_rows.c.id))]
    assert len(periods) == 2 and periods[1].startswith(periods[0] + "T")   # an extra one


def test_empty_goes_with_send(site: NewsSite, smtp: SmtpServer, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    path = config_file(tmp_path, site, smtp.port)
    assert main(["--config", str(path), "digest", "--text", "--empty"]) == 2
    assert "--empty goes with --send" in capsys.readouterr().err

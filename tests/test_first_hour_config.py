"""A new user's first hour with the configuration, through the real command line.

Every problem in one run, files with which the service could do nothing, one wording with
the feed's name in its key path, and the state directory: relative paths from the config
file's folder whatever the working directory, ``[storage] state_dir``, ``$STATE_DIRECTORY``
first, and the resolved paths printed by ``check-config``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import NewsSite, run_cli, write_config
from tests.newsroom import LAYOFFS, Item, page, rss

BROKEN = '''
[fetch]
concurrency = "acht"
[alerts]
mode = "sofort"
[[feeds]]
name = "Wirtschaftskurier"
url = "https://kurier.example/feed.xml"
[[feeds]]
name = "FAZ Wirtschaft"
url = "ftp://faz.example/wirtschaft"
[[feeds]]
name = "Wirtschaftskurier"
url = "https://kurier.example/zweiter.xml"
[aliases]
russland = ["russland", "moskau"]
[[topics]]
name = "handel"
query = "(aussenhandel AND @russia"
[[topics]]
name = "zoll"
query = "zoll* OR @zoelle"
[email]
from = "desk@example.org"
to = ["desk@example.org"]
[email.smtp]
host = "127.0.0.1"
port = 2525
username = "desk"
'''
FEEDS = '[[feeds]]\nname = "Kurier"\nurl = "https://kurier.example/feed.xml"\n'
TOPICS = '[[topics]]\nname = "handel"\nquery = "aussenhandel"\n'
MAIL = '[email]\nfrom = "desk@example.org"\nto = ["desk@example.org"]\n'


def check(tmp_path: Path, text: str, *, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> tuple[int, str, str]:
    path = tmp_path / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    result = run_cli("check-config", config=path, env=env, cwd=cwd)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout, result.stderr


def test_every_problem_in_one_run_named_and_in_one_wording(tmp_path: Path) -> None:
    code, _, err = check(tmp_path, BROKEN)
    assert code == 2
    lines = [line.strip() for line in err.splitlines()]
    assert lines == [
        f"error: 8 problems in {tmp_path / 'monitor.toml'}:",
        "alerts.mode: must be 'immediate', 'hourly' or 'off', not 'sofort'",
        "email.smtp.username: no password found; set password_file, "
        "$NEWS_MONITOR_SMTP_PASSWORD or the systemd credential 'smtp-password'",
        'feeds[1] ("FAZ Wirtschaft").url: not an http(s) URL',
        'feeds[2] ("Wirtschaftskurier").name: duplicate name \'Wirtschaftskurier\'',
        "fetch.concurrency: not a whole number: 'acht'",
        'topics[0] ("handel").query: column 19: unknown alias @russia '
        "(did you mean @russland?)",
        'topics[0] ("handel").query: column 26: expected ")" after group, got end of query',
        'topics[1] ("zoll").query: column 10: unknown alias @zoelle '
        "(configured in [aliases]: russland)",
    ]
    assert "Input should" not in err and "[type=" not in err


def test_an_empty_file_or_a_file_without_feeds_or_topics_is_an_error(tmp_path: Path) -> None:
    code, out, err = check(tmp_path, "")
    assert code == 2 and "config:   " in out and ": 1 error" in out
    assert "(file): empty: there is nothing to watch" in err
    code, _, err = check(tmp_path, TOPICS + MAIL)
    assert code == 2 and "feeds: no feeds configured: the service would poll nothing" in err
    code, _, err = check(tmp_path, FEEDS + "enabled = false\n" + TOPICS + MAIL)
    assert code == 2 and "feeds: every feed is disabled" in err
    code, _, err = check(tmp_path, FEEDS + MAIL)
    assert code == 2 and "topics: no topics configured: nothing can match" in err
    code, out, err = check(tmp_path, FEEDS + TOPICS + MAIL)
    assert (code, err) == (0, "") and ": ok" in out.splitlines()[0]


def test_mail_to_the_placeholder_warns_with_a_maildir_and_fails_over_smtp(
        tmp_path: Path) -> None:
    code, out, err = check(tmp_path, FEEDS + TOPICS)          # [email] left as shipped
    assert code == 0 and ": 1 warning" in out.splitlines()[0]
    assert err.startswith("warning: email.to: 'analyst@localhost' is the starter file's "
                          "placeholder: mail only lands in the local Maildir")
    smtp = '[email]\nto = ["analyst@localhost"]\n[email.smtp]\nhost = "127.0.0.1"\n'
    code, _, err = check(tmp_path, FEEDS + TOPICS + smtp)
    assert code == 2
    assert ("email.to: 'analyst@localhost' is the starter file's placeholder: over SMTP the "
            "mail would reach no one") in err
    assert "warning: email.from: 'news-monitor@localhost' is the starter file's placeholder" \
        in err


def test_state_lives_beside_the_config_whatever_the_working_directory(
        site: NewsSite, tmp_path: Path) -> None:
    base = site.url("").rstrip("/")
    site.put("/a1", page(LAYOFFS), "text/html; charset=utf-8")
    site.put("/feed.xml", rss(base, "Kurier", [Item(LAYOFFS.headline, "/a1", "Abbau.")]))
    folder = tmp_path / "etc"
    folder.mkdir()
    config = write_config(folder, [{"name": "Kurier", "url": site.url("/feed.xml")}])
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace(f'url = "sqlite:///{folder / "state" / "monitor.db"}"',
                                   'state_dir = "../zustand"'), encoding="utf-8")
    elsewhere = tmp_path / "anderswo"
    elsewhere.mkdir()
    summary = run_cli("check-config", config=config, cwd=elsewhere)
    state = tmp_path / "zustand"
    assert f"state:    {state} (from [storage] state_dir)" in summary.stdout
    assert f"database: {state / 'monitor.db'} (SQLite)" in summary.stdout
    assert f"mail:     Maildir {state / 'mail'} (read it with: mutt -f {state / 'mail'})" \
        in summary.stdout
    assert f"archived in {state / 'digests'}" in summary.stdout
    assert run_cli("poll", config=config, cwd=elsewhere).returncode == 0
    relative = run_cli("--config", "../etc/monitor.toml", "feeds", cwd=elsewhere)
    assert relative.returncode == 0 and "Kurier" in relative.stdout
    assert relative.stdout.split("\n")[1].split()[-1] == "1"          # the entry is there
    assert (state / "monitor.db").is_file() and not (elsewhere / "var").exists()
    with sqlite3.connect(state / "monitor.db") as db:
        assert db.execute("select count(*) from entries").fetchone() == (1,)


def test_state_directory_of_systemd_comes_first_and_is_said(tmp_path: Path) -> None:
    systemd = tmp_path / "lib" / "news-monitor"
    code, out, _ = check(tmp_path, '[storage]\nstate_dir = "daten"\n' + FEEDS + TOPICS + MAIL,
                         env={"STATE_DIRECTORY": str(systemd)})
    assert code == 0
    assert f"state:    {systemd} (from $STATE_DIRECTORY (systemd))" in out
    assert f"database: {systemd / 'monitor.db'} (SQLite)" in out
    code, out, _ = check(tmp_path, FEEDS + TOPICS + MAIL)
    assert f"state:    {tmp_path / 'var'} (default: var/ beside the config file)" in out


def test_relative_password_file_is_read_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "geheim").write_text("Pfirsich-7\n", encoding="utf-8")
    smtp = ('[email.smtp]\nhost = "127.0.0.1"\nport = 2525\nusername = "desk"\n'
            'password_file = "geheim"\n')
    code, out, err = check(tmp_path, FEEDS + TOPICS + MAIL + smtp, cwd=Path("/"))
    assert (code, err) == (0, ""), err
    assert "Pfirsich" not in out


def test_a_misplaced_state_dir_is_pointed_to_storage(tmp_path: Path) -> None:
    code, _, err = check(tmp_path, 'state_dir = "daten"\n' + FEEDS + TOPICS + MAIL)
    assert code == 2 and "state_dir: unknown key (did you mean 'state_dir' in [storage]?)" in err


def test_a_database_url_is_printed_without_its_password(tmp_path: Path) -> None:
    storage = '[storage]\nurl = "postgresql+psycopg://monitor:Kirsche-9@db.example/monitor"\n'
    code, out, _ = check(tmp_path, storage + FEEDS + TOPICS + MAIL)
    assert code == 0
    assert "database: postgresql+psycopg://monitor:***@db.example/monitor" in out
    assert "Kirsche" not in out

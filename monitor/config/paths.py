"""Where the state lives, and relative paths in the file made absolute.

Owns two rules. The state directory (the SQLite database, the Maildir, the digest archive)
is, first, systemd's ``$STATE_DIRECTORY`` (set for the service by ``StateDirectory=``, and
for ``systemd-run -p StateDirectory=...``); else ``[storage] state_dir``; else ``var/``
beside the configuration file. And every relative path in the file (``state_dir``, a
``sqlite:///`` URL, ``password_file``, ``ca_file``) is taken relative to the folder of the
configuration file, never the working directory, so a command run from another folder uses
the same database. Pure functions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

SQLITE = "sqlite:///"
DEFAULT_STATE = "var"


def config_folder(path: Path) -> Path:
    """The folder relative paths in the file are taken from (absolute)."""
    return path.absolute().parent


def resolve(base: Path, value: Path) -> Path:
    """``value`` (``~`` expanded) as an absolute path, relative ones taken from ``base``."""
    expanded = value.expanduser()
    return Path(os.path.normpath(expanded if expanded.is_absolute() else base / expanded))


def state_directory(configured: Path | None, base: Path, env: Mapping[str, str]) -> Path:
    """$STATE_DIRECTORY, else ``[storage] state_dir``, else ``var/`` beside the file."""
    systemd = env.get("STATE_DIRECTORY", "").split(":")[0]
    if systemd:
        return Path(systemd)
    return resolve(base, configured if configured is not None else Path(DEFAULT_STATE))


def state_origin(configured: Path | None, env: Mapping[str, str]) -> str:
    """Which rule chose the state directory, in words."""
    if env.get("STATE_DIRECTORY", "").split(":")[0]:
        return "from $STATE_DIRECTORY (systemd)"
    if configured is not None:
        return "from [storage] state_dir"
    return "default: var/ beside the config file"


def storage_url(url: str, base: Path, state_dir: Path) -> str:
    """The database URL: SQLite in the state directory by default; a relative SQLite file
    taken from the config's folder."""
    if not url:
        return f"{SQLITE}{state_dir / 'monitor.db'}"
    if not url.startswith(SQLITE):
        return url
    file, sep, query = url.removeprefix(SQLITE).partition("?")
    if not file or file == ":memory:" or file.startswith("/"):
        return url
    return f"{SQLITE}{resolve(base, Path(file))}{sep}{query}"


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL, else None."""
    if not url.startswith(SQLITE):
        return None
    file = url.removeprefix(SQLITE).partition("?")[0]
    return Path(file) if file and file != ":memory:" else None

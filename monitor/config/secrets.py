"""The SMTP password: never in the file; from a file, the environment or a credential.

Owns where the password comes from, in this order: ``[email.smtp] password_file``,
``$NEWS_MONITOR_SMTP_PASSWORD``, the systemd credential ``smtp-password``
(``$CREDENTIALS_DIRECTORY/smtp-password``, which the unit loads with ``LoadCredential=``
and, when that file is missing, fills with a blank from ``SetCredential=``: a blank is no
password). It is read only when a ``username`` asks for a login. A ``password`` key in
the file is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

PASSWORD_ENV = "NEWS_MONITOR_SMTP_PASSWORD"
CREDENTIAL_NAME = "smtp-password"


def secrets_absent(raw: Mapping[str, Any]) -> list[str]:
    """A problem for a password written into the file itself."""
    smtp = raw.get("email", {}).get("smtp", {}) if isinstance(raw.get("email"), dict) else {}
    if isinstance(smtp, dict) and "password" in smtp:
        return ["email.smtp.password: secrets never live in the config file; use password_file, "
                f"${PASSWORD_ENV} or the systemd credential {CREDENTIAL_NAME!r}"]
    return []


def smtp_password(username: str | None, password_file: Path | None,
                  env: Mapping[str, str]) -> tuple[str | None, list[str]]:
    """The password for ``username`` (None without a login), or the problem finding it."""
    if not username:
        return None, []
    if password_file is not None:
        return _read_secret(password_file, "email.smtp.password_file")
    if env.get(PASSWORD_ENV):
        return env[PASSWORD_ENV], []
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / CREDENTIAL_NAME).is_file():
        password, problems = _read_secret(Path(credentials) / CREDENTIAL_NAME,
                                          "email.smtp (credential)")
        if password or problems:
            return password, problems
        return None, [f"email.smtp.username: the systemd credential {CREDENTIAL_NAME!r} is "
                      "empty: the file its LoadCredential= line names is missing or empty "
                      "(see systemd/README.md)"]
    return None, [f"email.smtp.username: no password found; set password_file, ${PASSWORD_ENV} "
                  f"or the systemd credential {CREDENTIAL_NAME!r}"]


def _read_secret(path: Path, key: str) -> tuple[str | None, list[str]]:
    try:
        return path.read_text(encoding="utf-8").strip(), []
    except OSError as exc:
        return None, [f"{key}: cannot read {path}: {exc.strerror}"]


WEB_SECRET_ENV = "NEWS_MONITOR_WEB_SECRET"
WEB_CREDENTIAL = "web-secret"


def web_secret(secret_file: Path | None, env: Mapping[str, str]) -> tuple[str | None, list[str]]:
    """The desk's signing secret: ``[web] secret_file``, ``$NEWS_MONITOR_WEB_SECRET`` or the
    systemd credential ``web-secret``; None when none is set (the wiring then keeps a random
    one in the state directory)."""
    if secret_file is not None:
        secret, problems = _read_secret(secret_file, "web.secret_file")
        if secret == "":
            return None, [f"web.secret_file: {secret_file} is empty"]
        return secret, problems
    if env.get(WEB_SECRET_ENV):
        return env[WEB_SECRET_ENV], []
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / WEB_CREDENTIAL).is_file():
        secret, problems = _read_secret(Path(credentials) / WEB_CREDENTIAL, "web (credential)")
        return secret or None, problems
    return None, []


def web_tokens(tokens: list[tuple[str, Path]]) -> tuple[dict[str, str], list[str]]:
    """The API tokens by name, read from their ``token_file``s, or the problems."""
    found: dict[str, str] = {}
    problems = []
    for index, (name, path) in enumerate(tokens):
        token, trouble = _read_secret(path, f"web.tokens[{index}] ({name!r}).token_file")
        problems += trouble
        if token is not None and len(token) < 16:
            problems.append(f"web.tokens[{index}] ({name!r}).token_file: the token in {path} "
                            "is shorter than 16 characters")
        elif token:
            found[name] = token
    return found, problems

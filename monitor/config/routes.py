"""Routes: which topics' events go over which channel to whom (``[[routes]]``).

Owns the ``[[routes]]`` section's model, its checks across keys (unknown topics, a webhook
without ``url``, an email route without ``to``, keys of another channel, duplicate names),
and where each route's secret comes from: a webhook's HMAC secret and an Apprise URL (it
holds tokens) are read from ``secret_file``/``url_file``, else
``$NEWS_MONITOR_ROUTE_<NAME>_SECRET``/``_URL``, else the systemd credential
``route-<name>-secret``/``route-<name>-url``; never from the TOML. Without ``[[routes]]``
the wiring builds one email route from ``[email]`` and ``[digest]``, as before routes
existed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from monitor.config import paths
from monitor.config.problems import item_label
from monitor.config.types import Duration, EmailAddress, HttpUrl

RouteName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
EventName = Literal["new", "updated", "digest"]
SECRET_KEYS = ("secret", "password", "token", "apprise_url")
CHANNEL_KEYS = {"email": ("to", "digest_to"), "webhook": ("url", "secret_file"),
                "apprise": ("url_file",)}


class RouteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: RouteName
    channel: Literal["email", "webhook", "apprise"] = "email"
    to: tuple[EmailAddress, ...] = ()
    digest_to: tuple[EmailAddress, ...] = ()
    topics: tuple[str, ...] | None = None
    events: tuple[EventName, ...] = ("new", "updated", "digest")
    mode: Literal["immediate", "hourly", "digest", "off"] = "immediate"
    max_per_hour: int = Field(20, ge=0)
    url: HttpUrl | None = None
    secret_file: Path | None = None
    url_file: Path | None = None
    timeout: Duration = timedelta(seconds=15)
    enabled: bool = True


def raw_route_problems(raw: Mapping[str, Any]) -> list[str]:
    """Secrets written into a route, checked on the raw TOML so they are always reported."""
    routes = raw.get("routes")
    if not isinstance(routes, list):
        return []
    problems = []
    for index, item in enumerate(routes):
        if not isinstance(item, dict):
            continue
        label = item_label("routes", index, item.get("name"))
        for key in SECRET_KEYS:
            if key in item:
                problems.append(f"{label}.{key}: secrets never live in the config file; use "
                                f"{_secret_hint(item)}")
                del item[key]
        if item.get("channel") == "apprise" and "url" in item:
            problems.append(f"{label}.url: an Apprise URL holds tokens: put it in url_file, "
                            f"$NEWS_MONITOR_ROUTE_{_env_name(item.get('name'))}_URL or the "
                            f"systemd credential 'route-{item.get('name')}-url'")
            del item["url"]
    return problems


def _secret_hint(item: Mapping[str, Any]) -> str:
    name = item.get("name", "NAME")
    return (f"secret_file, $NEWS_MONITOR_ROUTE_{_env_name(name)}_SECRET or the systemd "
            f"credential 'route-{name}-secret'")


def _env_name(name: Any) -> str:
    return str(name or "NAME").upper().replace("-", "_")


def route_problems(routes: Sequence[RouteConfig], topics: Sequence[str]) -> list[str]:
    """Checks across keys of the validated routes."""
    problems: list[str] = []
    seen: set[str] = set()
    for index, route in enumerate(routes):
        label = item_label("routes", index, route.name)
        if route.name in seen:
            problems.append(f"{label}.name: duplicate name {route.name!r}")
        seen.add(route.name)
        problems += _channel_problems(label, route)
        problems += [f"{label}.topics: unknown topic {name!r} (topics: "
                     f"{', '.join(topics) or 'none'})"
                     for name in route.topics or () if name not in topics]
    return problems


def _channel_problems(label: str, route: RouteConfig) -> list[str]:
    problems = []
    if route.channel == "email" and not route.to:
        problems.append(f"{label}.to: an email route needs recipients")
    if route.channel == "webhook" and not route.url:
        problems.append(f"{label}.url: a webhook route needs the address to POST to")
    for channel, keys in CHANNEL_KEYS.items():
        if channel == route.channel:
            continue
        for key in keys:
            if key in route.model_fields_set:
                problems.append(f"{label}.{key}: only for {channel} routes "
                                f"(this one is {route.channel})")
    return problems


def route_secrets(routes: Sequence[RouteConfig], base: Path,
                  env: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Each webhook's secret and each Apprise URL, by route name, or the problems finding
    them."""
    found: dict[str, str] = {}
    problems: list[str] = []
    for index, route in enumerate(routes):
        if route.channel == "email" or not route.enabled:
            continue
        label = item_label("routes", index, route.name)
        kind = "secret" if route.channel == "webhook" else "url"
        file = route.secret_file if route.channel == "webhook" else route.url_file
        key = f"{label}.{'secret_file' if kind == 'secret' else 'url_file'}"
        value, problem = _lookup(route.name, kind, paths.resolve(base, file) if file else None,
                                 env, key)
        if value:
            found[route.name] = value
        else:
            problems.append(problem)
    return found, problems


def _lookup(name: str, kind: str, file: Path | None, env: Mapping[str, str],
            key: str) -> tuple[str, str]:
    variable = f"NEWS_MONITOR_ROUTE_{_env_name(name)}_{kind.upper()}"
    credential = f"route-{name}-{kind}"
    if file is not None:
        return _read(file, key)
    if env.get(variable):
        return env[variable].strip(), ""
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / credential).is_file():
        value, problem = _read(Path(credentials) / credential, key)
        return value, problem or f"{key}: the systemd credential {credential!r} is empty"
    what = "webhook secret" if kind == "secret" else "Apprise URL"
    return "", (f"{key}: no {what} found; set {key.rpartition('.')[2]}, ${variable} or the "
                f"systemd credential {credential!r}")


def _read(path: Path, key: str) -> tuple[str, str]:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        return "", f"{key}: cannot read {path}: {exc.strerror}"
    return value, "" if value else f"{key}: {path} is empty"

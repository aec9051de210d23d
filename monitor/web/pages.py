"""Rendering the desk's pages: one Jinja2 environment over this package's templates.

Owns the environment (autoescape on for every template, undefined names are errors, the
templates are files in ``templates/`` and never built from input) and ``page``, which
renders one template with what every page shows: the user, the CSRF token for its forms,
the time zone. Feed and publisher text reaches a template only as a value, so it is
always escaped; links from feeds pass ``href`` (http and https only) or are shown as text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from monitor.notify.render import hit_parts, local_time, safe_link
from monitor.web.security import csrf_token, current_user
from monitor.web.state import desk_of

KIND_LABELS = {"new": "Neu", "updated": "Aktualisiert"}
VERDICT_LABELS = {"relevant": "Relevant", "not_relevant": "Nicht relevant",
                  "mute": "Stumm (Meldung)", "mute_outlet": "Stumm (Quelle)"}


def templates() -> Jinja2Templates:
    env = Environment(loader=PackageLoader("monitor.web", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["href"] = safe_link
    env.filters["parts"] = hit_parts
    env.globals["KIND_LABELS"] = KIND_LABELS
    env.globals["VERDICT_LABELS"] = VERDICT_LABELS
    return Jinja2Templates(env=env)


def page(request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """``name`` rendered with ``context`` and what every page needs."""
    desk = desk_of(request)
    zone = desk.timezone

    def when(moment: datetime | None) -> str:
        return local_time(moment, zone)

    base = {"user": current_user(request), "csrf": csrf_token(request), "when": when,
            "path": request.url.path}
    rendered: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status)
    return rendered

"""Alert planning (pure): which deltas get a mail of their own and which fold into a summary.

``mode`` "immediate" mails each delta until the hourly cap is reached and folds the rest into
one summary mail; "hourly" folds everything (the caller sends the summary once an hour);
"off" plans nothing. The caller counts the alerts already sent in the last hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from monitor.models import Delta

AlertMode = Literal["immediate", "hourly", "off"]


@dataclass(frozen=True, slots=True)
class AlertPlan:
    individual: tuple[Delta, ...] = ()
    folded: tuple[Delta, ...] = ()


def plan_alerts(deltas: Sequence[Delta], *, mode: AlertMode, max_per_hour: int,
                sent_last_hour: int) -> AlertPlan:
    """Split ``deltas`` (in their given order) into individual alerts and a folded summary.

    ``max_per_hour`` counts individual alert mails; once it is reached every further delta
    is folded. A cap of 0 therefore folds everything.
    """
    if mode == "off" or not deltas:
        return AlertPlan()
    if mode == "hourly":
        return AlertPlan(folded=tuple(deltas))
    room = max(0, max_per_hour - max(0, sent_last_hour))
    return AlertPlan(individual=tuple(deltas[:room]), folded=tuple(deltas[room:]))

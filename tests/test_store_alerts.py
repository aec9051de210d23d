"""Alert planning (the store's rule): the hourly cap folds alerts into one summary; modes
hourly and off. Its use inside ``save_outcome`` is tested in test_store_outbox.py."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.store.alerts import AlertPlan, plan_alerts
from tests.test_notify_data import new_delta

DELTAS = tuple(new_delta(id=n) for n in range(6))


def test_immediate_under_the_cap_mails_each() -> None:
    plan = plan_alerts(DELTAS[:3], mode="immediate", max_per_hour=10, sent_last_hour=2)
    assert plan == AlertPlan(individual=DELTAS[:3])


def test_past_the_cap_the_rest_folds_into_the_summary() -> None:
    plan = plan_alerts(DELTAS, mode="immediate", max_per_hour=5, sent_last_hour=3)
    assert [d.id for d in plan.individual] == [0, 1] and [d.id for d in plan.folded] == [2, 3, 4, 5]


def test_cap_already_spent_folds_everything() -> None:
    plan = plan_alerts(DELTAS, mode="immediate", max_per_hour=5, sent_last_hour=9)
    assert plan.individual == () and plan.folded == DELTAS


def test_hourly_folds_everything_and_off_plans_nothing() -> None:
    assert plan_alerts(DELTAS, mode="hourly", max_per_hour=99, sent_last_hour=0).folded == DELTAS
    assert plan_alerts(DELTAS, mode="off", max_per_hour=99, sent_last_hour=0) == AlertPlan()
    assert plan_alerts((), mode="immediate", max_per_hour=5, sent_last_hour=0) == AlertPlan()


@settings(max_examples=80, deadline=None)
@given(count=st.integers(0, 6), cap=st.integers(0, 8), sent=st.integers(-1, 10))
def test_every_delta_is_planned_once_and_the_cap_holds(count: int, cap: int, sent: int) -> None:
    plan = plan_alerts(DELTAS[:count], mode="immediate", max_per_hour=cap, sent_last_hour=sent)
    assert plan.individual + plan.folded == DELTAS[:count]
    assert len(plan.individual) <= max(0, cap - max(0, sent))

"""Retraining status, spacing of missed items, PRC working days and local wall-clock times."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from bot.knowledge import check
from bot.models import Card, DrillItem, ItemState, Lines, Option, Text, TopicState
from bot.schedule import (
    BUMP_SPREAD_DEFAULT,
    INTERVALS_DAYS,
    Status,
    after_answer,
    bump_delay,
    is_working_day,
    local_at,
    topic_status,
)
from tests.cards import card, write_cards

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
GRACE = 14


def make_card(card_id: str = "t.topic", version: int = 1, retrain_days: int = 90) -> Card:
    empty = Lines((), ())
    item = DrillItem(f"{card_id}.d1", card_id, Text("题", "q"),
                     (Option("a", Text("对", "right"), True), Option("b", Text("错", "wrong"), False)),
                     Text("因为", "because"))
    return Card(id=card_id, section="complaints", type="script", version=version,
                retrain_days=retrain_days, title=Text("标题", "title"), summary=Text("摘要", "sum"), now=empty,
                steps=empty, say=empty, escalate=empty, never=empty, related=(), questions=empty,
                drills=(item,))


def passed(card_id: str, at: datetime, version: int) -> TopicState:
    return TopicState(card_id, first_answer_at=at - timedelta(days=1), last_answer_at=at,
                      last_pass_at=at, last_pass_version=version, answers=2, correct=1)


# --- topic_status -------------------------------------------------------------------------


def test_never_answered_is_new() -> None:
    c = make_card()
    s = topic_status(c, None, None, T0, GRACE)
    assert s.status is Status.NEW
    assert s.due_at is None
    assert s.card is c


def test_passed_at_current_version_is_current_until_retrain_days() -> None:
    c = make_card(retrain_days=90)
    state = passed(c.id, T0, version=1)
    due = T0 + timedelta(days=90)
    just_before = topic_status(c, state, None, due - timedelta(seconds=1), GRACE)
    assert just_before.status is Status.CURRENT
    assert just_before.due_at == due
    assert topic_status(c, state, None, T0 + timedelta(days=1), GRACE).status is Status.CURRENT


def test_exactly_at_due_time_is_due() -> None:
    c = make_card(retrain_days=90)
    s = topic_status(c, passed(c.id, T0, 1), None, T0 + timedelta(days=90), GRACE)
    assert s.status is Status.DUE
    assert s.due_at == T0 + timedelta(days=90)


def test_grace_edge_due_then_overdue() -> None:
    c = make_card(retrain_days=90)
    state = passed(c.id, T0, 1)
    due = T0 + timedelta(days=90)
    at_edge = topic_status(c, state, None, due + timedelta(days=GRACE), GRACE)
    assert at_edge.status is Status.DUE
    past_edge = topic_status(c, state, None, due + timedelta(days=GRACE, seconds=1), GRACE)
    assert past_edge.status is Status.OVERDUE
    assert past_edge.due_at == due


def test_grace_days_parameter_is_used() -> None:
    c = make_card(retrain_days=30)
    state = passed(c.id, T0, 1)
    now = T0 + timedelta(days=30 + 3)
    assert topic_status(c, state, None, now, grace_days=7).status is Status.DUE
    assert topic_status(c, state, None, now, grace_days=2).status is Status.OVERDUE


def test_retrain_days_comes_from_the_card() -> None:
    now = T0 + timedelta(days=100)
    short, long = make_card(retrain_days=90), make_card(retrain_days=365)
    assert topic_status(short, passed(short.id, T0, 1), None, now, GRACE).status is Status.DUE
    long_status = topic_status(long, passed(long.id, T0, 1), None, now, GRACE)
    assert long_status.status is Status.CURRENT
    assert long_status.due_at == T0 + timedelta(days=365)


def assert_due_then_overdue(card: Card, state: TopicState, since: datetime | None,
                            due_at: datetime) -> None:
    """Due from `due_at` through the grace days, overdue one second later."""
    at = topic_status(card, state, since, due_at, GRACE)
    assert at.status is Status.DUE and at.due_at == due_at
    last = topic_status(card, state, since, due_at + timedelta(days=GRACE), GRACE)
    assert last.status is Status.DUE
    late = topic_status(card, state, since, due_at + timedelta(days=GRACE, seconds=1), GRACE)
    assert late.status is Status.OVERDUE and late.due_at == due_at


def test_version_bump_makes_older_pass_due_from_version_since() -> None:
    c = make_card(version=2, retrain_days=180)
    state = passed(c.id, T0, version=1)
    since = T0 + timedelta(days=10)
    due_at = since + bump_delay(c)
    before = topic_status(c, state, since, due_at - timedelta(seconds=1), GRACE)
    assert before.status is Status.CURRENT
    assert_due_then_overdue(c, state, since, due_at=due_at)


def test_a_batch_of_bumps_is_spread_not_due_on_one_day() -> None:
    """15 cards bumped on one day: their refreshers fall due on many different days
    within the window (safety cards within a week), not all at once."""
    since = T0 + timedelta(days=30)
    cards = [make_card(f"t.topic{n}", version=2) for n in range(15)]
    due = [topic_status(c, passed(c.id, T0, 1), since, since, GRACE) for c in cards]
    days = {c.due_at for c in (topic_status(c, passed(c.id, T0, 1), since,
                                            since + timedelta(days=60), GRACE) for c in cards)}
    assert len(days) >= 8  # 15 cards over a 28-day window
    assert all(d <= since + timedelta(days=BUMP_SPREAD_DEFAULT) for d in days if d)
    assert sum(s.status is Status.CURRENT for s in due) >= 12  # few are due the first day
    safety = replace(cards[0], type="safety")
    assert bump_delay(safety) < timedelta(days=7)


def test_a_bump_never_delays_the_normal_refresh() -> None:
    c = make_card(version=2, retrain_days=90)
    state = passed(c.id, T0, version=1)
    since = T0 + timedelta(days=89)
    s = topic_status(c, state, since, T0 + timedelta(days=90), GRACE)
    assert s.due_at == T0 + timedelta(days=90) and s.status is Status.DUE


def test_version_bump_due_well_before_retrain_days_lapse() -> None:
    c = make_card(version=3, retrain_days=365)
    state = passed(c.id, T0, version=2)
    since = T0 + timedelta(days=5)
    s = topic_status(c, state, since, since + bump_delay(c), GRACE)
    assert s.status is Status.DUE  # same pass at version 3 would be current for a year


def test_version_seen_before_the_pass_is_due_from_the_pass() -> None:
    # version_since earlier than the pass: due from the pass itself (max of the two)
    c = make_card(version=2)
    state = passed(c.id, T0, version=1)
    s = topic_status(c, state, T0 - timedelta(days=3), T0 + bump_delay(c), GRACE)
    assert s.status is Status.DUE
    assert s.due_at == T0 + bump_delay(c)


def test_version_bump_without_version_since_is_due_from_the_pass() -> None:
    c = make_card(version=2)
    state = passed(c.id, T0, version=1)
    s = topic_status(c, state, None, T0 + bump_delay(c), GRACE)
    assert s.status is Status.DUE
    assert s.due_at == T0 + bump_delay(c)


def test_answered_never_passed_is_due_from_first_answer() -> None:
    c = make_card()
    first = T0 + timedelta(hours=3)
    state = TopicState(c.id, first_answer_at=first, last_answer_at=first + timedelta(days=2),
                       last_pass_at=None, last_pass_version=None, answers=3, correct=0)
    assert_due_then_overdue(c, state, None, due_at=first)


def test_status_with_card_from_the_real_loader(tmp_path: Path) -> None:
    cards, problems = check(write_cards(tmp_path, card("demo.loaded", ctype="safety")))
    assert problems == []
    (c,) = cards
    assert c.retrain_days == 90  # safety default
    state = passed(c.id, T0, c.version)
    assert topic_status(c, state, None, T0 + timedelta(days=89), GRACE).status is Status.CURRENT
    assert topic_status(c, state, None, T0 + timedelta(days=90), GRACE).status is Status.DUE


# --- after_answer -------------------------------------------------------------------------


ITEM = make_card("t.spaced").drills[0]


def test_miss_comes_back_after_one_day() -> None:
    s = after_answer(None, False, ITEM, T0)
    assert s == ItemState(ITEM.id, ITEM.card_id, 1, T0 + timedelta(days=1))


def test_correct_answers_step_through_intervals_then_leave_the_queue() -> None:
    assert INTERVALS_DAYS == (1, 3, 7, 14, 30)
    now = T0
    state = after_answer(None, False, ITEM, now)
    assert state is not None and state.due_at == now + timedelta(days=1)
    for days in (3, 7, 14, 30):
        now = state.due_at
        nxt = after_answer(state, True, ITEM, now)
        assert nxt is not None, f"left the queue before the {days}-day step"
        assert nxt.due_at == now + timedelta(days=days)
        assert (nxt.item_id, nxt.card_id) == (ITEM.id, ITEM.card_id)
        state = nxt
    assert after_answer(state, True, ITEM, state.due_at) is None


def test_miss_mid_way_starts_over_at_one_day() -> None:
    state = ItemState(ITEM.id, ITEM.card_id, 3, T0)  # next interval would be 14 days
    later = T0 + timedelta(days=2)
    again = after_answer(state, False, ITEM, later)
    assert again == ItemState(ITEM.id, ITEM.card_id, 1, later + timedelta(days=1))
    nxt = after_answer(again, True, ITEM, again.due_at)
    assert nxt is not None and nxt.due_at == again.due_at + timedelta(days=3)


def test_correct_without_state_needs_no_spacing() -> None:
    assert after_answer(None, True, ITEM, T0) is None


# --- is_working_day -----------------------------------------------------------------------


def test_national_day_thursday_is_not_a_working_day() -> None:
    day = date(2026, 10, 1)
    assert day.weekday() == 3
    assert is_working_day(day) is False


@pytest.mark.parametrize("day", [date(2025, 9, 28), date(2026, 10, 10), date(2026, 9, 20)])
def test_make_up_weekend_days_are_working_days(day: date) -> None:
    assert day.weekday() >= 5
    assert chinese_calendar.is_workday(day)  # the package agrees it is a make-up day
    assert is_working_day(day) is True


def test_normal_weekend_and_weekday() -> None:
    assert date(2026, 11, 28).weekday() == 5
    assert is_working_day(date(2026, 11, 28)) is False
    assert is_working_day(date(2026, 11, 29)) is False
    assert is_working_day(date(2026, 11, 30)) is True


def test_year_without_data_falls_back_to_monday_to_friday() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2031, 1, 1))
    monday = date(2031, 10, 6)  # would be inside a Golden Week if the package knew 2031
    assert monday.weekday() == 0
    assert [is_working_day(monday + timedelta(days=n)) for n in range(7)] == [
        True, True, True, True, True, False, False]


def test_overrides_win() -> None:
    weekday, saturday = date(2026, 11, 30), date(2026, 11, 28)
    assert is_working_day(weekday, holidays=frozenset({weekday})) is False
    assert is_working_day(saturday, workdays=frozenset({saturday})) is True
    national = date(2026, 10, 1)
    assert is_working_day(national, workdays=frozenset({national})) is True
    makeup = date(2026, 10, 10)
    assert is_working_day(makeup, holidays=frozenset({makeup})) is False
    future = date(2031, 3, 3)
    assert is_working_day(future, holidays=frozenset({future})) is False
    assert is_working_day(date(2031, 3, 1), workdays=frozenset({date(2031, 3, 1)})) is True


def test_holiday_override_beats_workday_override() -> None:
    day = date(2026, 11, 30)
    both = frozenset({day})
    assert is_working_day(day, holidays=both, workdays=both) is False


# --- local_at -----------------------------------------------------------------------------


def test_local_at_shanghai() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    for day in (date(2026, 1, 15), date(2026, 7, 15)):  # no DST: same offset all year
        dt = local_at(day, time(9, 0), tz)
        assert dt.tzinfo is not None and dt.utcoffset() == timedelta(hours=8)
        assert dt.astimezone(UTC) == datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)


def test_local_at_berlin_across_dst_change() -> None:
    tz = ZoneInfo("Europe/Berlin")
    before = local_at(date(2026, 3, 28), time(9, 0), tz)
    after = local_at(date(2026, 3, 29), time(9, 0), tz)
    assert before.astimezone(UTC) == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    assert after.astimezone(UTC) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert (before.hour, after.hour) == (9, 9)
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=23)

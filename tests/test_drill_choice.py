"""Choosing micro-drill items, option order and grading."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.drills import choose, shuffled_options
from bot.knowledge import check
from bot.models import Card, DrillItem, ItemState, Lines, Option, Text
from bot.schedule import Status, TopicStatus
from tests.cards import card, write_cards

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
SEEDS = range(25)


def make_item(card_id: str, n: int) -> DrillItem:
    return DrillItem(f"{card_id}.d{n}", card_id, Text(f"题{n}", f"q{n}"),
                     (Option("a", Text("对", "right"), True),
                      Option("b", Text("错一", "wrong one"), False),
                      Option("c", Text("错二", "wrong two"), False),
                      Option("d", Text("错三", "wrong three"), False)),
                     Text("因为", "because"))


def make_card(card_id: str, section: str = "complaints", items: int = 3,
              retrain_days: int = 180) -> Card:
    empty = Lines((), ())
    return Card(id=card_id, section=section, type="script", version=1, retrain_days=retrain_days,
                title=Text("标题", "title"), summary=Text("摘要", "summary"), now=empty, steps=empty,
                say=empty, escalate=empty, never=empty, related=(), questions=empty,
                drills=tuple(make_item(card_id, n) for n in range(1, items + 1)))


def status(c: Card, st: Status, due_at: datetime | None) -> TopicStatus:
    return TopicStatus(c, st, due_at)


def spaced(item: DrillItem, due_at: datetime, step: int = 1) -> ItemState:
    return ItemState(item.id, item.card_id, step, due_at)


def card_ids(items: list[DrillItem]) -> list[str]:
    return [i.card_id for i in items]


def assert_no_repeats(items: list[DrillItem]) -> None:
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids)), ids


# --- choose: order of preference ----------------------------------------------------------


def test_full_order_of_preference() -> None:
    cards = {
        "sp.late": make_card("sp.late"), "sp.early": make_card("sp.early"),
        "sp.future": make_card("sp.future"),
        "due.a": make_card("due.a"), "over.a": make_card("over.a"),
        "new.complaint": make_card("new.complaint", "complaints"),
        "new.basic": make_card("new.basic", "basics"),
        "rev.old": make_card("rev.old"), "rev.recent": make_card("rev.recent"),
    }
    c = cards
    statuses = {
        # spaced items' own topics are current: they may only come first as spaced items
        "sp.late": status(c["sp.late"], Status.CURRENT, NOW + timedelta(days=170)),
        "sp.early": status(c["sp.early"], Status.CURRENT, NOW + timedelta(days=171)),
        "sp.future": status(c["sp.future"], Status.CURRENT, NOW + timedelta(days=172)),
        "due.a": status(c["due.a"], Status.DUE, NOW - timedelta(days=2)),
        "over.a": status(c["over.a"], Status.OVERDUE, NOW - timedelta(days=40)),
        "new.complaint": status(c["new.complaint"], Status.NEW, None),
        # new.basic has no status at all: also new
        "rev.old": status(c["rev.old"], Status.CURRENT, NOW + timedelta(days=10)),
        "rev.recent": status(c["rev.recent"], Status.CURRENT, NOW + timedelta(days=150)),
    }
    early = c["sp.early"].drills[1]
    late = c["sp.late"].drills[2]
    queue = [spaced(late, NOW - timedelta(hours=1)), spaced(early, NOW - timedelta(days=2)),
             spaced(c["sp.future"].drills[0], NOW + timedelta(hours=1))]
    for seed in SEEDS:
        got = choose(list(c.values()), statuses, queue, set(), NOW, 8, random.Random(seed))
        assert got[:2] == [early, late]
        assert card_ids(got) == ["sp.early", "sp.late", "over.a", "due.a", "new.basic",
                                 "new.complaint", "rev.old", "rev.recent"]
        assert c["sp.future"].drills[0] not in got
        assert_no_repeats(got)


def test_spaced_item_due_exactly_now_is_taken() -> None:
    a, b = make_card("a.one"), make_card("b.two")
    statuses = {"a.one": status(a, Status.OVERDUE, NOW - timedelta(days=30)),
                "b.two": status(b, Status.CURRENT, NOW + timedelta(days=100))}
    got = choose([a, b], statuses, [spaced(b.drills[2], NOW)], set(), NOW, 1, random.Random(1))
    assert got == [b.drills[2]]


def test_spaced_item_not_yet_due_is_not_first() -> None:
    a, b = make_card("a.one"), make_card("b.two")
    statuses = {"a.one": status(a, Status.NEW, None),
                "b.two": status(b, Status.CURRENT, NOW + timedelta(days=100))}
    queue = [spaced(b.drills[2], NOW + timedelta(seconds=1))]
    for seed in SEEDS:
        got = choose([a, b], statuses, queue, set(), NOW, 1, random.Random(seed))
        assert card_ids(got) == ["a.one"]


def test_spaced_item_of_a_removed_card_is_ignored() -> None:
    a = make_card("a.one")
    gone = make_item("gone.card", 1)
    got = choose([a], {}, [spaced(gone, NOW - timedelta(days=1))], set(), NOW, 2,
                 random.Random(3))
    assert gone not in got
    assert set(card_ids(got)) == {"a.one"}


def test_overdue_before_due_and_older_due_first() -> None:
    d_recent, d_old = make_card("due.recent"), make_card("due.old")
    o_recent, o_old = make_card("over.recent"), make_card("over.old")
    statuses = {
        "due.recent": status(d_recent, Status.DUE, NOW - timedelta(days=1)),
        "over.recent": status(o_recent, Status.OVERDUE, NOW - timedelta(days=20)),
        "due.old": status(d_old, Status.DUE, NOW - timedelta(days=10)),
        "over.old": status(o_old, Status.OVERDUE, NOW - timedelta(days=90)),
    }
    cards = [d_recent, d_old, o_recent, o_old]
    got = choose(cards, statuses, [], set(), NOW, 4, random.Random(0))
    assert card_ids(got) == ["over.old", "over.recent", "due.old", "due.recent"]


def test_new_topics_follow_catalogue_sections_basics_first() -> None:
    cards = [make_card("n.assess", "assessment"), make_card("n.complaint", "complaints"),
             make_card("n.skill", "skills"), make_card("n.basic1", "basics"),
             make_card("n.process", "process"), make_card("n.basic2", "basics")]
    seen_first: Counter[str] = Counter()
    for seed in SEEDS:
        got = choose(cards, {}, [], set(), NOW, len(cards), random.Random(seed))
        ids = card_ids(got)
        assert set(ids[:2]) == {"n.basic1", "n.basic2"}
        assert ids[2:] == ["n.skill", "n.process", "n.complaint", "n.assess"]
        seen_first[ids[0]] += 1
    assert set(seen_first) == {"n.basic1", "n.basic2"}  # varied within a section


def test_new_topics_before_review_and_review_oldest_due_first() -> None:
    new = make_card("n.one", "complaints")
    r1, r2, r3 = make_card("r.one"), make_card("r.two"), make_card("r.three")
    statuses = {
        "r.one": status(r1, Status.CURRENT, NOW + timedelta(days=120)),
        "r.two": status(r2, Status.CURRENT, NOW + timedelta(days=5)),
        "r.three": status(r3, Status.CURRENT, NOW + timedelta(days=60)),
    }
    got = choose([r1, r2, r3, new], statuses, [], set(), NOW, 4, random.Random(0))
    assert card_ids(got) == ["n.one", "r.two", "r.three", "r.one"]


def test_review_orders_by_soonest_refresh_across_retrain_cycles() -> None:
    """Review favours the topic closest to its refresh date, whatever its cycle length."""
    safety = make_card("r.safety", retrain_days=90)   # passed 10 days ago: due in 80 days
    policy = make_card("r.policy", retrain_days=365)  # passed 60 days ago: due in 305 days
    statuses = {
        "r.safety": status(safety, Status.CURRENT, NOW - timedelta(days=10) + timedelta(days=90)),
        "r.policy": status(policy, Status.CURRENT, NOW - timedelta(days=60) + timedelta(days=365)),
    }
    got = choose([safety, policy], statuses, [], set(), NOW, 2, random.Random(0))
    assert card_ids(got) == ["r.safety", "r.policy"]


def test_size_cuts_the_preference_order() -> None:
    over, new, rev = make_card("o.one"), make_card("n.one"), make_card("r.one")
    statuses = {"o.one": status(over, Status.OVERDUE, NOW - timedelta(days=50)),
                "r.one": status(rev, Status.CURRENT, NOW + timedelta(days=50))}
    for size in (1, 2, 3):
        got = choose([rev, new, over], statuses, [], set(), NOW, size, random.Random(size))
        assert card_ids(got) == ["o.one", "n.one", "r.one"][:size]


# --- choose: one per card, no repeats, recent items ----------------------------------------


def test_one_item_per_card_when_enough_cards() -> None:
    cards = [make_card(f"c.n{i}", items=4) for i in range(6)]
    a = cards[0]
    queue = [spaced(a.drills[0], NOW - timedelta(days=1)),
             spaced(a.drills[1], NOW - timedelta(hours=2))]  # two spaced items of one card
    statuses = {a.id: status(a, Status.OVERDUE, NOW - timedelta(days=30))}
    for seed in SEEDS:
        got = choose(cards, statuses, queue, set(), NOW, 5, random.Random(seed))
        assert len(got) == 5
        assert len(set(card_ids(got))) == 5
        assert got[0] == a.drills[0]
        assert a.drills[1] not in got
        assert_no_repeats(got)


def test_single_card_uses_all_its_items() -> None:
    only = make_card("only.one", items=3)
    for seed in SEEDS:
        got = choose([only], {}, [], set(), NOW, 3, random.Random(seed))
        assert sorted(i.id for i in got) == sorted(i.id for i in only.drills)


def test_second_item_of_a_card_only_when_nothing_else_left() -> None:
    a, b = make_card("a.one"), make_card("b.two")
    for seed in SEEDS:
        got = choose([a, b], {}, [], set(), NOW, 4, random.Random(seed))
        assert len(got) == 4
        assert set(card_ids(got[:2])) == {"a.one", "b.two"}
        assert_no_repeats(got)


def test_size_larger_than_all_items_returns_every_item_once() -> None:
    a, b = make_card("a.one", items=3), make_card("b.two", items=3)
    got = choose([a, b], {}, [], set(), NOW, 10, random.Random(5))
    assert len(got) == 6
    assert {i.id for i in got} == {i.id for c in (a, b) for i in c.drills}


def test_spaced_item_also_due_as_topic_is_not_taken_twice() -> None:
    a = make_card("a.one", items=1)
    b = make_card("b.two")
    statuses = {"a.one": status(a, Status.OVERDUE, NOW - timedelta(days=30))}
    got = choose([a, b], statuses, [spaced(a.drills[0], NOW - timedelta(days=1))], set(), NOW, 3,
                 random.Random(0))
    assert_no_repeats(got)
    assert got[0] == a.drills[0]
    assert len(got) == 3


def test_recent_items_avoided_within_a_card() -> None:
    a = make_card("a.one", items=3)
    recent = {a.drills[0].id, a.drills[1].id}
    for seed in SEEDS:
        got = choose([a], {}, [], recent, NOW, 1, random.Random(seed))
        assert got == [a.drills[2]]


def test_recent_items_used_when_the_card_has_nothing_else() -> None:
    a = make_card("a.one", items=3)
    recent = {i.id for i in a.drills}
    got = choose([a], {}, [], recent, NOW, 1, random.Random(0))
    assert len(got) == 1 and got[0] in a.drills


def test_recent_avoided_across_the_preference_lists() -> None:
    over, rev = make_card("o.one"), make_card("r.one")
    statuses = {"o.one": status(over, Status.OVERDUE, NOW - timedelta(days=50)),
                "r.one": status(rev, Status.CURRENT, NOW + timedelta(days=50))}
    recent = {over.drills[0].id, over.drills[2].id, rev.drills[1].id, rev.drills[2].id}
    for seed in SEEDS:
        got = choose([over, rev], statuses, [], recent, NOW, 2, random.Random(seed))
        assert got == [over.drills[1], rev.drills[0]]


def test_size_respected() -> None:
    cards = [make_card(f"c.n{i}") for i in range(10)]
    for size in (0, 1, 3, 7):
        assert len(choose(cards, {}, [], set(), NOW, size, random.Random(size))) == size


def test_no_cards_no_items() -> None:
    assert choose([], {}, [], set(), NOW, 5, random.Random(0)) == []


def test_same_seed_same_choice() -> None:
    cards = [make_card(f"c.n{i}", section="basics" if i % 2 else "skills") for i in range(8)]
    one = choose(cards, {}, [], set(), NOW, 5, random.Random(42))
    two = choose(cards, {}, [], set(), NOW, 5, random.Random(42))
    assert one == two


def test_choose_with_cards_from_the_real_loader(tmp_path: Path) -> None:
    cards, problems = check(write_cards(tmp_path, card("x.first", section="complaints"),
                                        card("x.basic", section="basics")))
    assert problems == []
    got = choose(cards, {}, [], set(), NOW, 2, random.Random(0))
    assert card_ids(got) == ["x.basic", "x.first"]


# --- shuffled_options -------------------------------------------------------------------


def test_shuffled_options_is_a_permutation() -> None:
    item = make_item("a.one", 1)
    orders = set()
    for seed in range(40):
        ids = shuffled_options(item, random.Random(seed))
        assert sorted(ids) == ["a", "b", "c", "d"]
        orders.add(tuple(ids))
    assert len(orders) > 1  # it really shuffles


def test_shuffled_options_reproducible_with_seed() -> None:
    item = make_item("a.one", 1)
    assert shuffled_options(item, random.Random(7)) == shuffled_options(item, random.Random(7))
    rng_a, rng_b = random.Random(99), random.Random(99)
    assert [shuffled_options(item, rng_a) for _ in range(5)] == \
        [shuffled_options(item, rng_b) for _ in range(5)]


def test_shuffled_options_does_not_change_the_item() -> None:
    item = make_item("a.one", 1)
    shuffled_options(item, random.Random(1))
    assert [o.id for o in item.options] == ["a", "b", "c", "d"]


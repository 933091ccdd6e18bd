"""The update inbox in the store: claims, their time-out, one person's order across
instances, given-up updates, what is kept; an update handled again repeats no effect."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram import Bot, Update
from telegram.error import NetworkError

from bot.adapters.telegram_inbox import Inbox
from bot.assistant import Assistant
from bot.models import Button, Inbound, Reply, ReplyKind
from bot.store import State, Store
from bot.store.inbox import HANDLING, MAX_ATTEMPTS, decode_replies, encode_replies
from tests.botrun import TOKEN
from tests.conftest import ADMIN, Chat

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
CLAIM = timedelta(minutes=2)


pytestmark = pytest.mark.both_engines  # the inbox's SQL on SQLite and PostgreSQL


@pytest.fixture
async def store(db: Path | str) -> AsyncIterator[Store]:
    opened = await Store.open(db, pool=2, migrate=True)
    yield opened
    await opened.close()


async def receive(store: Store, update_id: int, user_id: int, owner: str,
                  at: datetime = NOW) -> bool:
    """One update stored; True when `owner` is to handle it now."""
    body = f'{{"update_id": {update_id}}}'
    return update_id in await store.receive([(update_id, user_id, body)], owner, at, at + CLAIM)


async def states(store: Store) -> list[tuple[int, str, str | None]]:
    return [tuple(r) for r in await store.rows(  # type: ignore[misc]
        "SELECT update_id, state, claimed_by FROM inbox ORDER BY update_id")]


async def test_stored_once_and_claimed_by_the_instance_that_received_it(store: Store) -> None:
    assert await receive(store, 1, 7, "a")
    assert not await receive(store, 1, 7, "b")  # Telegram delivered it again
    assert await states(store) == [(1, "new", "a")]
    assert await store.claim_unfinished("b", NOW, NOW + CLAIM) == ([], 0)  # a's claim holds


async def test_a_dead_instances_update_is_taken_over_once_its_claim_runs_out(
        store: Store) -> None:
    assert await receive(store, 1, 7, "a")
    later = NOW + CLAIM + timedelta(seconds=1)
    claimed, failed = await store.claim_unfinished("b", later, later + CLAIM)
    assert [d.update_id for d in claimed] == [1] and failed == 0
    assert claimed[0].body == '{"update_id": 1}' and claimed[0].replies is None
    assert await store.claim_unfinished("c", later, later + CLAIM) == ([], 0)


async def test_the_only_instance_takes_every_claim_at_start_up(store: Store) -> None:
    assert await receive(store, 1, 7, "dead")
    assert await store.release_claims() == 1
    claimed, _ = await store.claim_unfinished("new", NOW, NOW + CLAIM)
    assert [d.update_id for d in claimed] == [1]


async def test_a_batch_is_stored_in_one_trip_in_order(store: Store) -> None:
    trips = store.engine.trips
    rows = [(3, 7, "{}"), (1, 7, "{}"), (2, 8, "{}")]
    # 3 waits for 1, the same person's (one update of a person claimed at a time)
    assert await store.receive(rows, "a", NOW, NOW + CLAIM) == {1, 2}
    assert store.engine.trips == trips + 1
    assert await store.receive(rows, "a", NOW, NOW + CLAIM) == set()  # a batch sent again
    after = await store.finish(1, State.SENT, NOW, "a", NOW + CLAIM)
    assert after is not None and after.update_id == 3


async def test_one_persons_updates_are_claimed_in_order_across_instances(store: Store) -> None:
    assert await receive(store, 1, 7, "a")
    assert not await receive(store, 2, 7, "b")  # 1 is a's: 2 waits, unclaimed
    assert await receive(store, 3, 8, "b")  # another person is not held up
    assert await store.claim_unfinished("b", NOW, NOW + CLAIM) == ([], 0)
    await store.finish(1, State.SENT, NOW)
    claimed, _ = await store.claim_unfinished("b", NOW, NOW + CLAIM)
    assert [d.update_id for d in claimed] == [2]
    assert await states(store) == [(1, "sent", None), (2, "new", "b"), (3, "new", "b")]


async def test_finishing_hands_on_the_update_that_waited_for_it(store: Store) -> None:
    """2 reached b while a had 1: a, finishing 1, takes 2 at once (no waiting for a tick);
    3 waits behind 2, and another person's waiting update is not a's to take. Even the
    instance holding a person's update does not claim their next one (two ways into its
    queue, the webhook and this hand-on, could swap them)."""
    assert await receive(store, 1, 7, "a")
    assert not await receive(store, 2, 7, "b")
    assert not await receive(store, 3, 7, "c")
    assert await receive(store, 4, 8, "c") and not await receive(store, 5, 8, "b")
    assert not await receive(store, 6, 8, "c")
    after = await store.finish(1, State.SENT, NOW, "a", NOW + CLAIM)
    assert after is not None and (after.update_id, after.user_id, after.attempts) == (2, 7, 1)
    assert after.body == '{"update_id": 2}' and after.replies is None
    assert await store.finish(2, State.FAILED, NOW, "a", NOW + CLAIM) is not None  # 3
    assert await store.finish(3, State.SENT, NOW, "a", NOW + CLAIM) is None
    assert await states(store) == [(1, "sent", None), (2, "failed", None), (3, "sent", None),
                                   (4, "new", "c"), (5, "new", None), (6, "new", None)]


async def test_handled_replies_are_stored_and_sent_rows_keep_only_their_id(
        store: Store) -> None:
    replies = [Reply("答", title="标题", buttons=((Button("👍", "fb:1:up"),),), edit=True),
               Reply("chart", kind=ReplyKind.PHOTO, data=b"\x89PNG\x00", filename="a.png"),
               Reply("请先加入", low_priority=True)]
    assert decode_replies(encode_replies(replies)) == replies
    assert await receive(store, 1, 7, "a")
    await store.handled(1, replies)
    assert await store.release_claims() == 1
    claimed, _ = await store.claim_unfinished("b", NOW, NOW + CLAIM)
    assert claimed[0].replies == replies  # handled already: these are sent, nothing redone
    await store.finish(1, State.SENT, NOW)
    row = await store.row("SELECT * FROM inbox WHERE update_id = 1")
    assert row is not None and (row["body"], row["replies"], row["claimed_by"]) == (
        None, None, None)
    assert not await receive(store, 1, 7, "a")  # a redelivery of a finished update
    assert await receive(store, 2, 7, "a", NOW + timedelta(days=1, seconds=1))
    await store.finish(2, State.SENT, NOW + timedelta(days=1, seconds=1))
    assert await states(store) == [(2, "sent", None)]  # ids are kept for a day


async def test_an_update_that_keeps_failing_is_given_up(store: Store) -> None:
    """A poison pill (the process dies on it every time) does not block its sender forever."""
    assert await receive(store, 1, 7, "a")
    for attempt in range(2, MAX_ATTEMPTS + 1):
        await store.release_claims()
        claimed, failed = await store.claim_unfinished(f"a{attempt}", NOW, NOW + CLAIM)
        assert claimed[0].attempts == attempt and failed == 0
    await store.release_claims()
    assert await store.claim_unfinished("z", NOW, NOW + CLAIM) == ([], 1)
    assert await states(store) == [(1, "failed", None)]
    assert await receive(store, 2, 7, "z")  # the person's next update is not held up


async def test_a_press_handled_again_returns_the_stored_answer(
        assistant: Assistant, admin: Chat) -> None:
    """The answer was stored, then the process died before the replies were: handled again,
    the same update gets the same feedback; another update (a double tap) does not."""
    question = await admin.say("/drill")
    payload = question[0].buttons[0][0].payload
    press = Inbound(ADMIN, "Admin", callback=payload)
    token = HANDLING.set(41)
    try:
        first = await assistant.handle(press)
        again = await assistant.handle(press)
    finally:
        HANDLING.reset(token)
    assert again == first and "1/3" in first[0].title and "2/3" in first[1].title
    assert [tuple(r) for r in await assistant.store.rows(
        "SELECT position, update_id FROM answers")] == [(0, 41)]
    token = HANDLING.set(42)
    try:
        double_tap = await assistant.handle(press)
    finally:
        HANDLING.reset(token)
    assert len(double_tap) == 1 and double_tap[0] != first[0]


async def test_a_question_handled_again_is_logged_once(assistant: Assistant,
                                                       admin: Chat) -> None:
    token = HANDLING.set(51)
    try:
        first = await admin.say("客户说这个月多扣了手续费，怎么跟他解释")
        again = await admin.say("客户说这个月多扣了手续费，怎么跟他解释")
    finally:
        HANDLING.reset(token)
    assert again == first  # the same 👍/👎 buttons: the same question id
    assert (await assistant.store.rows("SELECT COUNT(*) FROM questions"))[0][0] == 1


def message(update_id: int, text: str = "/help") -> Update:
    return Update.de_json({"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "text": text,
        "chat": {"id": ADMIN, "type": "private"},
        "from": {"id": ADMIN, "is_bot": False, "first_name": "Admin"}}}, Bot(TOKEN))


async def test_the_update_queue_stores_before_it_queues(store: Store) -> None:
    """What PTB's updater (before the next getUpdates) and the webhook (before its 200)
    await: once `put` returns, the update is in the store; a redelivery is not queued."""
    inbox = Inbox(lambda: NOW)
    inbox.store = store
    await inbox.put(message(7))
    row = await store.row("SELECT user_id, state, body FROM inbox WHERE update_id = 7")
    assert row is not None and (row["user_id"], row["state"]) == (ADMIN, "new")
    assert Update.de_json(json.loads(row["body"]), Bot(TOKEN)) == message(7)
    assert inbox.qsize() == 1 and inbox.ours(7)
    await inbox.put(message(7))  # Telegram sent it again
    assert inbox.qsize() == 1


async def test_an_update_the_store_cannot_take_is_not_queued(tmp_path: Path) -> None:
    """Not stored, so not acknowledged: a TelegramError, which PTB's polling loop retries
    without moving the offset (and the webhook answers 500)."""
    store = await Store.open(tmp_path / "coach.db")
    await store.close()
    inbox = Inbox(lambda: NOW)
    inbox.store = store
    with pytest.raises(NetworkError):
        await inbox.put(message(8))
    assert inbox.qsize() == 0


async def test_an_update_finished_while_the_store_was_down_is_noted_at_the_next(
        tmp_path: Path) -> None:
    """Its replies went out, then the store went away: the row is finished when the store
    is back (at the next update), so the person's next update does not wait behind it."""
    inbox = Inbox(lambda: NOW)
    inbox.store = await Store.open(tmp_path / "coach.db")
    await inbox.put(message(1))
    await inbox.store.close()
    with pytest.raises(RuntimeError):  # the closed store's thread takes no more work
        await inbox.finish(1, State.SENT)
    assert inbox.unnoted == {1: State.SENT}
    inbox.store = store = await Store.open(tmp_path / "coach.db")
    await inbox.put(message(2))
    assert inbox.unnoted == {} and inbox.ours(2)
    assert await states(store) == [(1, "sent", None), (2, "new", inbox.owner)]
    await store.close()

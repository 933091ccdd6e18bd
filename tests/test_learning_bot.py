"""Small talk and 👎 → next best → pick through the real Application and the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import Settings
from bot.store import Store
from tests.botrun import TOKEN, running_bot
from tests.conftest import ADMIN
from tests.fake_bot_api import FakeBotApi
from tests.test_card_buttons import Person, data_of, keyboard, plain

TIE = "lost my tie this morning, on counter duty in 10 minutes"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN, timeout_delay=7.0) as server:
        yield server


def last_with(api: FakeBotApi, prefix: str) -> int:
    """The id of the last message sent with a button whose data starts with `prefix`."""
    call: Any = next(c for c in reversed(api.calls("sendMessage"))
                     if f"'{prefix}" in str(c.params.get("reply_markup")))
    return int(call.response["result"]["message_id"])


async def test_thanks_then_thumbs_down_then_a_pick(api: FakeBotApi, settings: Settings) -> None:
    async with running_bot(api, settings):
        me = Person(api, ADMIN)
        await me.say("/start", until="Counter Coach")
        assert await me.say("thx", until="welcome") == ["You're welcome! Ask me any time."]
        mid = await me.ask(TIE)
        down = next(label for label, _ in keyboard(me.message(mid)) if "👎" in label)
        await me.press(mid, data_of(me.message(mid), down), replies=2)  # keyboard edit + offer  # keyboard edit + offer
        offer = me.message(last_with(api, "alt:"))
        labels = [text for text, _ in keyboard(offer)]
        assert plain(offer) == "Thanks - noted. Is it one of these?"
        assert labels[-1] == "None of these" and 2 <= len(labels) <= 4
        await me.press(offer["message_id"], data_of(offer, labels[0]), replies=2)
        assert plain(me.message(offer["message_id"])) == f"➜ {labels[0]}"
        assert plain(me.message(last_with(api, "v:"))).startswith(labels[0])
    store = await Store.open(settings.db)
    try:
        [s] = await store.pending()
        assert s.question == TIE
        assert await store.gaps(datetime(2000, 1, 1, tzinfo=UTC)) == []
    finally:
        await store.close()

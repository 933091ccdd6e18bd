"""Random button payloads and commands through the real Assistant (real store, real cards):
every one gets replies; no exception escapes to the error handler."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot.answers import Library
from bot.assistant import Assistant
from bot.config import Settings
from bot.models import Inbound, Role
from bot.store import Store
from tests.conftest import ADMIN, FakeClock

KINDS = ["a", "dym", "fb", "card", "sec", "drill", "leave", "x", ""]
COMMANDS = ["start", "help", "topics", "card", "lang", "drill", "due", "progress", "remind",
            "pause", "whoami", "leave", "summary", "export", "nudge", "team", "invite",
            "people", "move", "remove", "nope"]  # not /reload: it re-reads every card
STAFF, STRANGER = 31, 32
SEARCH = hypothesis_settings(max_examples=400, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.too_slow])

numbers = st.one_of(st.integers(-10**30, 10**30).map(str), st.integers(0, 40).map(str),
                    st.sampled_from(["9" * 19, "9" * 20, str(2**63), str(2**63 - 1), "-0",
                                     "١٢", "１２", "²", "0x10", "1e9", " 7", "07"]))
words = st.one_of(numbers, numbers, st.text(max_size=12),
                  st.sampled_from(["up", "down", "yes", "start", "a", "b", "staff", "A", "7d",
                                   "off", "09:30", "zh", "fees.dispute"]))
shaped = st.one_of(  # the shapes the bot's own buttons have, with any field forged
    st.builds("a:{}:{}:{}".format, words, words, words),
    st.builds("dym:{}:{}".format, words, words),
    st.builds("fb:{}:{}".format, words, words),
    st.builds("{}:{}".format, st.sampled_from(KINDS), words))
payloads = st.one_of(shaped, shaped, st.text(max_size=80),
                     st.builds(lambda kind, parts: ":".join([kind, *parts]),
                               st.sampled_from(KINDS), st.lists(words, max_size=4)))
commands = st.builds(lambda name, bot, args: f"/{name}{bot} {' '.join(args)}",
                     st.sampled_from(COMMANDS), st.sampled_from(["", "@CoachTestBot", "@x"]),
                     st.lists(words, max_size=4))
inbounds = st.builds(
    lambda user, private, text, callback: Inbound(user, "Rand", text=text, callback=callback,
                                                  private=private),
    st.sampled_from([ADMIN, ADMIN, STAFF, STRANGER]), st.booleans(),
    st.one_of(commands, st.text(max_size=40)), st.one_of(st.none(), payloads)
).map(lambda i: i if i.callback is None else Inbound(i.user_id, i.name, callback=i.callback,
                                                     private=i.private))


def test_random_payloads_and_commands_never_raise(settings: Settings, tmp_path: Path,
                                                  real_library: Library,
                                                  clock: FakeClock) -> None:
    loop = asyncio.new_event_loop()
    store = loop.run_until_complete(Store.open(tmp_path / "random.db"))
    assistant = Assistant(settings, store, real_library, clock)
    loop.run_until_complete(assistant.start())
    loop.run_until_complete(assistant.handle(Inbound(ADMIN, "Admin", text="/start")))
    loop.run_until_complete(assistant.handle(Inbound(ADMIN, "Admin", text="/team add A")))
    loop.run_until_complete(store.upsert_person(STAFF, "Staff", {Role.STAFF}, clock()))
    seen = 0

    @SEARCH
    @given(inbounds)
    @example(Inbound(ADMIN, callback="a:999999999999999999999999999999:0:a"))  # issue 20's
    @example(Inbound(ADMIN, callback="dym:99999999999999999999:0"))
    @example(Inbound(ADMIN, callback="fb:99999999999999999999:up"))
    @example(Inbound(ADMIN, text="/remove 99999999999999999999"))
    def check(inbound: Inbound) -> None:
        nonlocal seen
        loop.run_until_complete(assistant.handle(inbound))  # raises = the error handler's
        seen += 1

    try:
        check()
    finally:
        loop.run_until_complete(store.close())
        loop.close()
    assert seen >= 300


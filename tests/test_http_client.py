"""The Bot API client (PTB's HTTPXRequest) as the bot uses it: uploads, proxies, and a
call that never left being sent once it can."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import TimedOut
from telegram.request import HTTPXRequest

from bot.adapters.telegram import Retry
from bot.config import Settings
from tests.botrun import TOKEN, running_bot
from tests.conftest import ADMIN
from tests.fake_bot_api import FakeBotApi
from tests.test_telegram import free_port


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN, timeout_delay=3.0) as server:
        yield server


async def say(api: FakeBotApi, text: str, method: str, count: int) -> None:
    await api.send_text(ADMIN, text, first_name="Admin")
    await api.wait_for_call(method, count=count, timeout=60)


async def test_files_go_up_as_multipart(api: FakeBotApi, settings: Settings) -> None:
    async with running_bot(api, settings):
        await say(api, "/start", "sendMessage", 1)
        await say(api, "/team add A", "sendMessage", 2)
        await say(api, "/export A", "sendDocument", 2)
        await say(api, "/summary A", "sendPhoto", 1)
    doc, people = api.calls("sendDocument")
    name, content = doc.files["document"]
    assert name.endswith(".csv") and content.decode("utf-8-sig").startswith("团队,姓名,")
    assert people.files["document"][0].endswith("-people-30d.csv")
    assert doc.params["chat_id"] == ADMIN and doc.params["caption"]
    (photo,) = api.calls("sendPhoto")
    assert photo.files["photo"][1].startswith(b"\x89PNG")


class Proxy:
    """A plain HTTP forward proxy on 127.0.0.1 that counts what it carried."""

    def __init__(self) -> None:
        self.carried: list[str] = []
        self.port = free_port()

    async def handle(self, request: web.Request) -> web.Response:
        self.carried.append(request.url.path.rsplit("/", 1)[-1])
        async with aiohttp.ClientSession() as http, http.request(
                request.method, request.url, data=await request.read(),
                headers={k: v for k, v in request.headers.items()
                         if k.lower() == "content-type"}) as upstream:
            return web.Response(status=upstream.status, body=await upstream.read(),
                                content_type="application/json")

    async def __aenter__(self) -> Proxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


async def test_telegram_proxy_carries_every_call(api: FakeBotApi, settings: Settings) -> None:
    async with Proxy() as proxy:
        proxied = replace(settings, proxy=f"http://127.0.0.1:{proxy.port}")
        async with running_bot(api, proxied):
            await say(api, "/start", "sendMessage", 1)
    assert {"getMe", "getUpdates", "sendMessage"} <= set(proxy.carried)
    assert len(api.calls()) <= len(proxy.carried)  # nothing went around it


async def test_environment_proxy_is_used_without_telegram_proxy(
        api: FakeBotApi, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    async with Proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        async with running_bot(api, replace(settings, proxy="")):
            await say(api, "/start", "sendMessage", 1)
    assert {"getMe", "getUpdates", "sendMessage"} <= set(proxy.carried)


async def test_a_send_that_never_left_is_sent_once_a_connection_is_free(api: FakeBotApi) -> None:
    """One connection, held by a call whose answer comes too late: the next send gives up
    waiting for the connection before anything is sent, so it is retried (a send that
    timed out after sending is not) and arrives once."""
    request = HTTPXRequest(connection_pool_size=1, pool_timeout=0.1)
    async with Bot(TOKEN, base_url=api.url, request=request) as bot:
        api.fail_next("sendMessage", "timeout")  # answered after 3 s
        held = asyncio.create_task(bot.send_message(1, "first", read_timeout=1.0))
        await api.wait_for_call("sendMessage")
        with pytest.raises(TimedOut):  # no free connection within 0.1 s: nothing sent
            await Retry(attempts=1)(lambda: bot.send_message(1, "never"), idempotent=False)
        await Retry()(lambda: bot.send_message(1, "second"), idempotent=False)
        with pytest.raises(TimedOut):
            await held
    assert [c.params["text"] for c in api.calls("sendMessage")] == ["first", "second"]

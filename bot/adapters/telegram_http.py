"""The Bot API's HTTP client: a python-telegram-bot `BaseRequest` (PTB's documented way
to bring a networking backend) on aiohttp.

Why not PTB's default `HTTPXRequest`: on this bot's load bench it spends 1.5-3 ms of
CPU a call against this one's ~0.6 ms (it writes each request in two socket sends,
url-encodes every byte of Chinese text in Python, and its pool walks every connection
on each call), and the bot makes ~1.8 calls an update: 2.6x the CPU an update, and at
saturation 1.9-3.3x the p99 reply time (bench/README.md, "Load").

Time-outs mean what they mean for `HTTPXRequest`, with one difference the retry layer
relies on: a time-out while connecting or waiting for a free connection (nothing was
sent) is a plain `NetworkError`; only one after sending is `TimedOut`. The proxy is
TELEGRAM_PROXY, else the environment's HTTPS_PROXY / HTTP_PROXY / NO_PROXY.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

JSON_BODY = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """Same defaults as `HTTPXRequest` (seconds): read, write and connect 5, pool 1,
    20 to write a file."""

    def __init__(self, connections: int = 256, proxy: str = "", read_timeout: float = 5.0,
                 write_timeout: float = 5.0, connect_timeout: float = 5.0,
                 pool_timeout: float = 1.0, media_write_timeout: float = 20.0) -> None:
        self._connections = connections
        self._proxy = proxy or None
        self._times = {"read": read_timeout, "write": write_timeout,
                       "connect": connect_timeout, "pool": pool_timeout}
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._times["read"]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections), trust_env=True,
                headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data is not None and request_data.contains_files
        given = {"read": read_timeout, "write": write_timeout, "connect": connect_timeout,
                 "pool": pool_timeout}
        t = {k: self._times[k] if v is BaseRequest.DEFAULT_NONE else v for k, v in given.items()}
        if files and write_timeout is BaseRequest.DEFAULT_NONE:
            t["write"] = self._media_write
        # aiohttp has no write time-out, so the whole call is bounded by the sum; its
        # `connect` includes waiting for a free connection, so it gets pool + connect
        timeout = aiohttp.ClientTimeout(
            total=None if None in t.values() else sum(t.values()),
            connect=None if None in (t["connect"], t["pool"]) else t["connect"] + t["pool"],
            sock_read=t["read"])
        try:
            data, headers = _body(request_data)
            async with self._session.request(method, url, data=data, headers=headers,
                                             timeout=timeout, proxy=self._proxy) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as err:
            raise NetworkError(f"aiohttp: not connected in time, nothing sent ({err})") from err
        except TimeoutError as err:  # also aiohttp.ServerTimeoutError
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err


def _body(request_data: RequestData | None) -> tuple[Any, dict[str, str] | None]:
    """Parameters as JSON (one C call; url-encoding them cost more CPU than the rest of
    the request), or multipart when a file goes up."""
    if request_data is None:
        return None, None
    if not request_data.contains_files:
        return request_data.json_payload, JSON_BODY
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form, None

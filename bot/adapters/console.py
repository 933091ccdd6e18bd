"""The terminal chat over the same `Assistant`: one message per line, buttons numbered."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.app import DEMO_USER, build, demo_settings
from bot.assistant import Assistant
from bot.config import Settings
from bot.demo import seed
from bot.models import Inbound, Reply, ReplyKind


def render(replies: list[Reply], out: TextIO) -> list[str]:
    """Print replies; return the payloads of the buttons shown, in the order numbered."""
    payloads: list[str] = []
    for reply in replies:
        if reply.edit and not reply.text:
            continue  # only removes buttons from a message already shown
        prefix = "(updated) " if reply.edit else ""
        if reply.kind is not ReplyKind.TEXT:
            out.write(f"{prefix}[{reply.kind.value}: {reply.filename}, {len(reply.data)} bytes]\n")
        if reply.title:
            out.write(f"{prefix}== {reply.title} ==\n")
            prefix = ""
        if reply.text:
            out.write(f"{prefix}{reply.text}\n")
        for row in reply.buttons:
            labels = []
            for button in row:
                payloads.append(button.payload)
                labels.append(f"[/{len(payloads)}] {button.label}")
            out.write("  ".join(labels) + "\n")
        out.write("\n")
    out.flush()
    return payloads


async def converse(assistant: Assistant, lines: TextIO, out: TextIO, user_id: int = DEMO_USER,
                   name: str = "Demo", interactive: bool = False) -> None:
    """Feed lines to the assistant until end of input; `/N` presses the N-th button shown."""
    buttons: list[str] = []
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            out.write("> ")
            out.flush()
        line = await loop.run_in_executor(None, lines.readline)
        if not line:
            break
        text = line.rstrip("\n")
        if not interactive:
            out.write(f"> {text}\n")
        key = text.strip()
        if key.startswith("/") and key[1:].isdigit():
            n = int(key[1:])
            if not 1 <= n <= len(buttons):
                out.write(f"(no button {n} on screen)\n\n")
                continue
            inbound = Inbound(user_id=user_id, name=name, callback=buttons[n - 1])
        else:
            inbound = Inbound(user_id=user_id, name=name, text=text)
        shown = render(await assistant.handle(inbound), out)
        for push in assistant.take_pushes():
            out.write(f"(sent to {push.user_id}) {push.reply.text}\n\n")
        if shown:
            buttons = shown


async def chat(settings: Settings) -> int:
    """`python -m bot chat`: the demo user (every role) talks to the assistant."""
    assistant = await build(demo_settings(settings))
    try:
        await assistant.enrol_demo(DEMO_USER, "Demo")
        if "COACH_DB" not in settings.explicit:
            await seed(assistant, DEMO_USER, assistant.now())
        interactive = sys.stdin.isatty()
        if interactive:
            print(f"Counter Coach console - database {assistant.store.path}. "
                  "Ctrl-D to quit; /N presses button N.")
        await converse(assistant, sys.stdin, sys.stdout, interactive=interactive)
    finally:
        await assistant.store.close()
    return 0

"""Editing a card file as text: appending ways of asking to its `questions`.

The file is changed by inserting lines (or items in a flow list), never by dumping
YAML again, so comments, quoting and flow style elsewhere stay byte-identical.
"""

from __future__ import annotations

import json
import re

from bot.text import has_cjk, is_traditional

_TOP = re.compile(r"^questions:[ \t]*(#.*)?$")
_KEY = re.compile(r"^([ \t]+)([A-Za-z-]+):[ \t]*(.*?)[ \t]*$")
_ITEM = re.compile(r"^([ \t]*)- ")
_PLAIN = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^\[\]{},#]*")
_SPECIAL = {"yes", "no", "true", "false", "null", "on", "off", "y", "n", "~"}


class CardFileError(Exception):
    """The file's `questions` cannot be edited as text (said why)."""


def list_for(question: str, has_hant: bool) -> str:
    """Which `questions` list a question joins: zh-Hant (when the file has one) for
    traditional Chinese, zh for other Chinese, en for the rest."""
    if not has_cjk(question):
        return "en"
    return "zh-Hant" if has_hant and is_traditional(question) else "zh"


def scalar(text: str) -> str:
    """`text` as a YAML scalar: plain when safe everywhere (also in a flow list), else a
    double-quoted (JSON) string."""
    plain = (_PLAIN.fullmatch(text) and ": " not in text and not text.endswith((":", " "))
             and text.lower() not in _SPECIAL and not re.fullmatch(r"[-+.\d_eE]+", text))
    return text if plain else json.dumps(text, ensure_ascii=False)


def append_questions(text: str, questions: list[str]) -> str:
    """The card file `text` with `questions` appended to its `questions` lists."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    top = next((n for n, line in enumerate(lines) if _TOP.match(line.rstrip("\r\n"))), None)
    if top is None:
        raise CardFileError("no block `questions:` mapping at the top level")
    end = top + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t#"):
        end += 1
    body = [n for n in range(top + 1, end) if lines[n].strip() and lines[n][0] != "#"]
    width = len(lines[body[0]]) - len(lines[body[0]].lstrip()) if body else 0
    keys = {m.group(2): n for n in body
            if (m := _KEY.match(lines[n].rstrip("\r\n"))) and len(m.group(1)) == width}
    for question in questions:
        key = list_for(question, "zh-Hant" in keys)
        if key not in keys:
            raise CardFileError(f"no `questions.{key}` list")
        lines, added = _append(lines, keys[key], scalar(question), newline)
        keys = {k: n + (added if n > keys[key] else 0) for k, n in keys.items()}
    return "".join(lines)


def _append(lines: list[str], at: int, item: str, newline: str) -> tuple[list[str], int]:
    """Add `item` to the list whose key is on line `at`; the lines and how many were added."""
    head = lines[at].rstrip("\r\n")
    match = _KEY.match(head)
    assert match is not None
    indent, value = match.group(1), match.group(3)
    flow = re.match(r"^\[(.*)\]([ \t]*#.*)?$", value)
    if flow is not None:  # `zh: [a, b]` -> `zh: [a, b, item]`
        inner = flow.group(1)
        close = head.rindex("]", 0, len(head) - len(flow.group(2) or ""))
        joined = f"{inner.rstrip()}, {item}" if inner.strip() else item
        lines[at] = head[:head.index("[") + 1] + joined + head[close:] + lines[at][len(head):]
        return lines, 0
    if value and not value.startswith("#"):
        raise CardFileError(f"`{head.strip()}` is neither a block nor a one-line flow list")
    last, item_indent = at, None
    for n in range(at + 1, len(lines)):
        line = lines[n].rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        width = len(line) - len(line.lstrip())
        bullet = _ITEM.match(line)
        if item_indent is None and bullet and width >= len(indent):
            item_indent = bullet.group(1)
        if item_indent is None or width < len(item_indent) or (
                width == len(item_indent) and not bullet):
            break
        last = n
    if item_indent is None:
        raise CardFileError(f"`{head.strip()}` has no items")
    lines.insert(last + 1, f"{item_indent}- {item}{newline}")
    return lines, 1

"""`python -m bot kb suggestions [--accept ID | --reject ID | --export]` at the server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.app import StartupError, utc_now
from bot.cardfile import CardFileError, append_questions
from bot.config import Settings
from bot.knowledge import check
from bot.learning import own
from bot.store import Store

SERVER = 0  # the audit's actor for decisions taken at the server


def add_parser(kb_sub: argparse._SubParsersAction) -> None:
    cmd = kb_sub.add_parser("suggestions", help="review suggested ways of asking (pending "
                            "ones, most frequent first)")
    one = cmd.add_mutually_exclusive_group()
    one.add_argument("--accept", type=int, metavar="ID", help="accept a suggestion")
    one.add_argument("--reject", type=int, metavar="ID", help="reject a suggestion")
    one.add_argument("--export", action="store_true",
                     help="append the accepted questions to the cards' YAML `questions`")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    if isinstance(settings.db, Path) and not settings.db.exists():
        raise StartupError(f"COACH_DB: no database at {settings.db}")
    store = await Store.open(settings.db)
    try:
        if args.export:
            return await _export(store, settings)
        if args.accept is not None or args.reject is not None:
            sid = args.accept if args.accept is not None else args.reject
            decided = await store.decide(sid, args.accept is not None, SERVER, utc_now())
            if decided is None:
                print(f"no pending suggestion #{sid}", file=sys.stderr)
                return 1
            print(f"#{decided.id} {decided.status}: {decided.card_id}: {decided.question}")
            return 0
        found = await store.pending(limit=1000)
        for s in found:
            print(f"#{s.id}\t×{s.count}\t{s.card_id}\t{s.question}")
        print(f"{len(found)} pending suggestion(s)", file=sys.stderr)
        return 0
    finally:
        await store.close()


async def _export(store: Store, settings: Settings) -> int:
    """Accepted questions into the card files, as text; every file checked after, and all
    put back as they were if any card no longer loads with its new questions."""
    cards, problems = check(settings.knowledge)
    if problems:
        raise StartupError(f"the cards have {len(problems)} problem(s); run `kb check` first")
    by_id = {c.id: c for c in cards}
    before: dict[Path, str] = {}
    added: dict[str, list[str]] = {}
    for card_id, questions in (await store.accepted()).items():
        card = by_id.get(card_id)
        new = [q for q in dict.fromkeys(questions) if card and q not in own(card)]
        if card is None or not new:
            continue
        path = Path(card.source)
        text = before.setdefault(path, path.read_text(encoding="utf-8"))
        try:
            path.write_text(append_questions(text, new), encoding="utf-8")
        except CardFileError as err:
            _restore(before)
            raise StartupError(f"{path}: {err}") from None
        added[card_id] = new
    cards, problems = check(settings.knowledge)
    loaded = {c.id: own(c) for c in cards}
    if problems or any(not set(qs) <= loaded.get(cid, set()) for cid, qs in added.items()):
        _restore(before)
        raise StartupError("exported cards did not load back; nothing changed")
    total = sum(map(len, added.values()))
    await store.audit(SERVER, "suggestions.export", f"{total} question(s)", utc_now())
    print(f"added {total} question(s) to {len(before)} card file(s)", file=sys.stderr)
    return 0


def _restore(before: dict[Path, str]) -> None:
    for path, text in before.items():
        path.write_text(text, encoding="utf-8")

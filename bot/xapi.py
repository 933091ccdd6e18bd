"""xAPI statements built from a stored drill answer (pure: no I/O).

The store calls `Statements` inside the transaction that records the answer, and
keeps each statement's id and JSON body as they are then: a staff number set
later, a renamed team or a new card version never changes a statement already made.
Only ids, option ids, the team name and the staff number (ours, not a customer's)
go in: never a question's text, never a person's name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from bot.models import Lang

ADL = "http://adlnet.gov/expapi"
VERBS = {v: f"{ADL}/verbs/{v}" for v in ("answered", "completed", "passed")}
ITEM_TYPE = f"{ADL}/activities/cmi.interaction"
DRILL_TYPE = f"{ADL}/activities/assessment"
CARD_TYPE = f"{ADL}/activities/lesson"
LANGUAGES = {Lang.ZH: "zh-CN", Lang.HANT: "zh-HK", Lang.TW: "zh-TW", Lang.EN: "en"}
PLATFORM = "Counter Coach"


@dataclass(frozen=True)
class Answered:
    """What the store knows as it records one drill answer."""

    user_id: int
    staff_no: str | None
    team: str | None
    lang: Lang
    drill_id: int
    item_id: str
    card_id: str
    card_version: int
    chosen: str  # the option id
    correct: bool
    at: datetime
    drill_done: bool  # this answer finished the drill
    drill_correct: int  # right answers in the drill, this one included
    drill_size: int
    passed_before: datetime | None  # the card's last pass at this version, before this answer


@dataclass(frozen=True)
class Statement:
    id: str
    verb: str  # answered, completed or passed
    body: str  # the JSON sent to the LRS, every time the same


class Statements:
    """The statements one answer makes: `answered`; `completed` (with the score) when it
    ends the drill; `passed` when it passes the card at its version anew — never passed
    at this version, or the last pass is a whole retraining cycle old."""

    def __init__(self, homepage: str, retrain_days: Callable[[str], int],
                 new_id: Callable[[], str] = lambda: str(uuid4())) -> None:
        self.homepage = homepage
        self.base = homepage.rstrip("/")
        self.retrain_days = retrain_days
        self.new_id = new_id

    def __call__(self, a: Answered) -> list[Statement]:
        item = self.activity(f"cards/{a.card_id}/items/{a.item_id}", ITEM_TYPE)
        item["definition"]["interactionType"] = "choice"
        score = int(a.correct)
        made = [self.statement(a, "answered", item, {
            "success": a.correct, "response": a.chosen,
            "score": {"raw": score, "min": 0, "max": 1, "scaled": score}},
            self.context(a, version=True, parent=True))]
        if a.drill_done:
            scaled = round(a.drill_correct / a.drill_size, 4) if a.drill_size else 0
            made.append(self.statement(a, "completed", self.activity(
                f"drills/{a.drill_id}", DRILL_TYPE), {
                "completion": True, "score": {"raw": a.drill_correct, "min": 0,
                                              "max": a.drill_size, "scaled": scaled}},
                self.context(a)))
        cycle = timedelta(days=self.retrain_days(a.card_id))
        if a.correct and (a.passed_before is None or a.at - a.passed_before >= cycle):
            made.append(self.statement(a, "passed", self.activity(
                f"cards/{a.card_id}", CARD_TYPE), {"success": True, "completion": True},
                self.context(a, version=True)))
        return made

    def statement(self, a: Answered, verb: str, activity: dict[str, Any],
                  result: dict[str, Any], context: dict[str, Any]) -> Statement:
        sid = self.new_id()
        body = {
            "id": sid,
            "actor": {"objectType": "Agent", "account": {
                "homePage": self.homepage, "name": a.staff_no or str(a.user_id)}},
            "verb": {"id": VERBS[verb], "display": {"en-US": verb}},
            "object": activity,
            "result": result,
            "context": context,
            "timestamp": a.at.astimezone(UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        return Statement(sid, verb, json.dumps(body, ensure_ascii=False, sort_keys=True,
                                               separators=(",", ":")))

    def activity(self, path: str, kind: str) -> dict[str, Any]:
        return {"objectType": "Activity", "id": f"{self.base}/{path}",
                "definition": {"type": kind}}

    def context(self, a: Answered, version: bool = False, parent: bool = False) -> dict[str, Any]:
        extensions: dict[str, Any] = {}
        if a.team:
            extensions[f"{self.base}/xapi/team"] = a.team
        if version:  # the version goes here, not in the card's IRI
            extensions[f"{self.base}/xapi/card-version"] = a.card_version
        context: dict[str, Any] = {"language": LANGUAGES[a.lang], "platform": PLATFORM}
        if extensions:
            context["extensions"] = extensions
        if parent:
            context["contextActivities"] = {
                "parent": [{"objectType": "Activity", "id": f"{self.base}/drills/{a.drill_id}"}],
                "grouping": [{"objectType": "Activity", "id": f"{self.base}/cards/{a.card_id}"}]}
        return context

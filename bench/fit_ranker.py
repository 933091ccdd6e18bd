"""Fit the ranker (bot/weights.py) and calibrate `confident`, by cross-validation.

    .venv/bin/python bench/fit_ranker.py [--kb PATH] [--models words,use-m3] [--write]

Examples: every re-ranked candidate of every question of bench/dev-questions.yaml,
hard-questions.yaml and out-of-scope.yaml (never the blind sets), plus "banking but
no card" questions made from the same sets: the cards are split into 5 groups, each
left out of an index in turn, and the dev and hard questions about its cards asked
of that index (no right answer). A logistic regression (L2, Newton's method) over
bot/ranker.py's features; 5-fold cross-validation by question gives the numbers to
expect on unseen questions, fold by fold. The threshold is the lowest with, on
cross-validation, confident-and-wrong <= 3% of in-scope questions, out-of-scope
confident <= 10% and no-card confident <= 10% (minus a safety margin, MARGIN).
With --write, the weights fitted on everything go to bot/weights.py.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from blind_report import half  # noqa: E402

from bot.embeddings import Embedder  # noqa: E402
from bot.knowledge import check  # noqa: E402
from bot.models import Card  # noqa: E402
from bot.ranker import THIRD_PARTY  # noqa: E402
from bot.search import Index  # noqa: E402
from bot.smalltalk import smalltalk  # noqa: E402
from bot.weights import FITTED  # noqa: E402

SETS = ("dev-questions", "hard-questions", "out-of-scope")
TUNING = "blind2-questions"  # retired blind set 2: its half a only (half b is the check)
WORDS = ["coverage", "phrase", "matched", "unknown", "length", "lead", "relative", "others"]
MEANING = ["near", "klass", "near_lead", "klass_lead"]
L2 = 1 / 3
FOLDS = 5
GROUPS = 5
LIMITS = {"wrong": 0.03, "oos": 0.10, "nocard": 0.10}
MARGIN = 0.01  # aim this far inside each limit: held-out questions are harder than these


@dataclass
class Row:
    """One question asked of one index: its candidates' features and the right card."""

    qid: int
    kind: str  # "in" (a card answers it), "oos" (out of scope), "nocard" (its card left out)
    expect: str | None
    source: str  # the question's set
    ids: list[str]
    x: np.ndarray
    shield: np.ndarray  # per candidate: never confident (another person's data, a how-to)


def questions() -> list[tuple[str, str | None, str]]:
    """(question, expected card or None, source set); blind set 2's no-card questions are
    expected "-" (banking, but no card: scored as no-card), its small talk left out."""
    out = []
    for name in SETS + (TUNING,):
        data = yaml.safe_load((ROOT / "bench" / f"{name}.yaml").read_text("utf-8"))
        for q in data["questions"]:
            if name == TUNING and (half(str(q["q"])) != "a" or q.get("style") == "smalltalk"):
                continue
            expect = "-" if q.get("style") == "no_card" else q.get("expect")
            out.append((str(q["q"]), expect, name))
    return out


def group_of(card_id: str) -> int:
    return int(hashlib.sha1(card_id.encode()).hexdigest(), 16) % GROUPS


def rows_for(index: Index, qs: list[tuple[str, str | None, str]], names: list[str],
             left_out: set[str] | None = None) -> list[Row]:
    have = {c.id for c in index.cards}
    out = []
    for qid, (q, expect, source) in enumerate(qs):
        if smalltalk(q):
            continue  # answered as small talk, never ranked
        if left_out is not None:
            if expect not in left_out:
                continue
            kind, expect = "nocard", None
        elif expect == "-":
            kind, expect = "nocard", None
        elif expect is None:
            kind = "oos"
        elif expect in have:
            kind = "in"
        else:
            continue  # a topic whose card is not written yet
        ranked = index.rank(q)
        ids = [index.cards[int(i)].id for i in ranked.cards]
        x = (np.stack([ranked.features[n] for n in names], axis=1) if ids
             else np.zeros((0, len(names))))
        shield = (np.array([index.third[int(i)] < THIRD_PARTY for i in ranked.cards])
                  & ranked.other_person) if ids else np.zeros(0, dtype=bool)
        out.append(Row(qid, kind, expect, source, ids, x, shield))
    return out


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logistic regression with an intercept (last weight), by Newton's method."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.eye(len(w)) * L2
    reg[-1, -1] = 0
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -50, 50)))
        step = np.linalg.solve((xb * (p * (1 - p))[:, None]).T @ xb + reg,
                               xb.T @ (p - y) + reg @ w)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def train(rows: list[Row]) -> np.ndarray:
    x = np.vstack([r.x for r in rows if len(r.ids)])
    y = np.concatenate([[float(c == r.expect) for c in r.ids] for r in rows if len(r.ids)])
    return fit(x, y)


def predict(w: np.ndarray, row: Row) -> tuple[str | None, float, bool, list[str]]:
    """(top card, its score, shielded, top 3)."""
    if not row.ids:
        return None, 0.0, False, []
    p = 1 / (1 + np.exp(-np.clip(row.x @ w[:-1] + w[-1], -50, 50)))
    order = np.argsort(-p, kind="stable")
    return row.ids[order[0]], float(p[order[0]]), bool(row.shield[order[0]]), \
        [row.ids[i] for i in order[:3]]


def rates(outcomes: list[tuple[Row, tuple[str | None, float, bool, list[str]]]],
          threshold: float) -> dict[str, float]:
    def conf(o: tuple[str | None, float, bool, list[str]]) -> bool:
        return o[1] >= threshold and not o[2]

    ins = [(r, o) for r, o in outcomes if r.kind == "in"]
    share = {k: [conf(o) for r, o in outcomes if r.kind == k] for k in ("oos", "nocard")}
    def mean(values: list[bool]) -> float:
        return float(np.mean(values)) if values else 0.0

    return {"top1": mean([o[0] == r.expect for r, o in ins]),
            "top3": mean([r.expect in o[3] for r, o in ins]),
            "right": mean([conf(o) and o[0] == r.expect for r, o in ins]),
            "wrong": mean([conf(o) and o[0] != r.expect for r, o in ins]),
            "oos": float(np.mean(share["oos"])) if share["oos"] else 0.0,
            "nocard": float(np.mean(share["nocard"])) if share["nocard"] else 0.0}


def evaluate(mode: str, rows: list[Row], qs: list[tuple[str, str | None, str]],
             misses: bool) -> tuple[np.ndarray, float]:
    folds = np.array([r.qid % FOLDS for r in rows])  # a question and its no-card twin together
    outcomes: list[tuple[Row, tuple[str | None, float, bool, list[str]]]] = []
    per_fold = []
    for k in range(FOLDS):
        w = train([r for r, f in zip(rows, folds, strict=True) if f != k])
        test = [(r, predict(w, r)) for r, f in zip(rows, folds, strict=True) if f == k]
        outcomes += test
        per_fold.append(test)
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    ok = [t for t in grid if all(rates(outcomes, t)[k] <= v - MARGIN for k, v in LIMITS.items())]
    threshold = float(min(ok)) if ok else 0.95
    print(f"\n== {mode}: {sum(r.kind == 'in' for r in rows)} in scope, "
          f"{sum(r.kind == 'oos' for r in rows)} out of scope, "
          f"{sum(r.kind == 'nocard' for r in rows)} no card; threshold {threshold:.2f}")
    print("fold   top-1  top-3  conf&right  conf&wrong  oos conf  no-card conf")
    for k, test in enumerate(per_fold):
        m = rates(test, threshold)
        print(f"{k:>4}  {m['top1']:6.1%} {m['top3']:6.1%}  {m['right']:9.1%}  {m['wrong']:9.1%}"
              f"  {m['oos']:8.1%}  {m['nocard']:11.1%}")
    m = rates(outcomes, threshold)
    print(f" all  {m['top1']:6.1%} {m['top3']:6.1%}  {m['right']:9.1%}  {m['wrong']:9.1%}"
          f"  {m['oos']:8.1%}  {m['nocard']:11.1%}")
    for source in dict.fromkeys(r.source for r in rows):
        m = rates([(r, o) for r, o in outcomes if r.source == source], threshold)
        print(f"  {source}: top-1 {m['top1']:.1%}  top-3 {m['top3']:.1%}  conf&right "
              f"{m['right']:.1%}  conf&wrong {m['wrong']:.1%}  oos {m['oos']:.1%}  "
              f"no-card {m['nocard']:.1%}")
    if misses:  # wrong top 1 on cross-validation, and confident answers without a card
        for r, o in outcomes:
            conf = o[1] >= threshold and not o[2]
            if (r.kind == "in" and o[0] != r.expect) or (r.kind != "in" and conf):
                print(f"  {'C' if conf else ' '} {r.expect or r.kind:<34} {qs[r.qid][0]!r}"
                      f" -> {', '.join(o[3])} {o[1]:.2f}")
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        m = rates(outcomes, t)
        print(f"  at {t:.2f}: conf&right {m['right']:.1%}  conf&wrong {m['wrong']:.1%}  "
              f"oos {m['oos']:.1%}  no-card {m['nocard']:.1%}")
    return train(rows), threshold


def write(fitted: dict[str, tuple[list[str], np.ndarray, float]], kb: str, n: int) -> None:
    lines = ['"""The ranker\'s fitted weights: written by bench/fit_ranker.py, not by hand."""',
             "", "from __future__ import annotations", "",
             f"# fitted on {n} cards ({kb}) and bench/dev, hard and out-of-scope questions",
             "# mode -> (weights by feature name, bias, confident threshold, plausible threshold)",
             "FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {"]
    for mode, (names, w, threshold) in fitted.items():
        weights = ", ".join(f'"{n}": {v:.4f}' for n, v in zip(names, w[:-1], strict=True))
        plausible = round(min(0.2, threshold / 2), 2)
        lines.append(f'    "{mode}": ({{{weights}}},\n        {w[-1]:.4f}, {threshold:.2f}, '
                     f"{plausible}),")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    (ROOT / "bot" / "weights.py").write_text(text, encoding="utf-8")
    print("wrote bot/weights.py")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--models", default="words,use-m3")
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "cache")
    parser.add_argument("--write", action="store_true", help="update bot/weights.py")
    parser.add_argument("--without", default="", help="features left out (an ablation)")
    parser.add_argument("--misses", action="store_true", help="list the misses on CV")
    args = parser.parse_args()
    cards, problems = check(args.kb)
    if problems:
        print(f"warning: {len(problems)} problem(s) in {args.kb}; fitting on what loads")
    qs = questions()
    fitted = {}
    for mode in args.models.split(","):
        embedder = None if mode == "words" else Embedder(mode, 2, args.cache)
        FITTED.setdefault(mode, FITTED["words"])  # a new model: its features, any weights
        started = time.perf_counter()
        index = Index(cards, embedder=embedder)
        if embedder is not None and index.semantic is None:
            print(f"{mode}: unavailable ({embedder.problem}); skipped")
            continue
        names = [n for n in WORDS + (MEANING if embedder is not None else [])
                 if n not in args.without.split(",")]
        rows = rows_for(index, qs, names)
        for g in range(GROUPS):
            kept: list[Card] = [c for c in cards if group_of(c.id) != g]
            left = {c.id for c in cards} - {c.id for c in kept}
            rows += rows_for(Index(kept, embedder=embedder), qs, names, left)
        print(f"{mode}: features of {len(rows)} question rows in {time.perf_counter() - started:.1f} s")
        w, threshold = evaluate(mode, rows, qs, args.misses)
        fitted[mode] = (names, w, threshold)
        print("weights:", {n: round(float(v), 3) for n, v in zip(names, w, strict=False)},
              "bias", round(float(w[-1]), 3))
    if args.write:
        write(fitted, args.kb.name, len(cards))


if __name__ == "__main__":
    main()

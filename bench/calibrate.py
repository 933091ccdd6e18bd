"""Fit the matcher's confidence model (bot.search.Index.MODEL / BIAS) and pick its threshold.

Every re-ranked candidate of every question is one example: its features
(bot.search.Features) and whether it is the expected card (never, for
out-of-scope questions). A logistic regression (L2, Newton's method, numpy
only) gives weights to paste into bot/search.py; 5-fold cross-validation by
question shows what to expect on unseen questions.

Run from the repo root: .venv/bin/python bench/calibrate.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge import load  # noqa: E402
from bot.search import Index  # noqa: E402

SETS = ("dev-questions", "out-of-scope", "hard-questions")
L2 = 1 / 3


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logistic regression with an intercept (last weight), by Newton's method."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.eye(len(w)) * L2
    reg[-1, -1] = 0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + reg @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def questions(name: str) -> list[dict[str, str | None]]:
    return list(yaml.safe_load((ROOT / "bench" / f"{name}.yaml").read_text("utf-8"))["questions"])


def main() -> None:
    index = Index(list(load(ROOT / "knowledge").cards.values()))
    rows = []  # (set, expected, [(card id, features)])
    for name in SETS:
        for q in questions(name):
            cands = [(index.cards[i].id, f.vector()) for _, i, f in index.rank(str(q["q"]))]
            rows.append((name, q["expect"], cands))

    def xy(subset: list[tuple[str, object, list[tuple[str, tuple[float, ...]]]]]
           ) -> tuple[np.ndarray, np.ndarray]:
        x = [f for _, _, c in subset for _, f in c]
        y = [float(cid == exp) for _, exp, c in subset for cid, _ in c]
        return np.array(x), np.array(y)

    def evaluate(w: np.ndarray, subset: list, threshold: float) -> tuple[float, ...]:
        outcomes = []
        for name, exp, cands in subset:
            if not cands:
                outcomes.append((name, exp, None, 0.0))
                continue
            x = np.hstack([np.array([f for _, f in cands]), np.ones((len(cands), 1))])
            p = 1 / (1 + np.exp(-(x @ w)))
            k = int(np.argmax(p))
            outcomes.append((name, exp, cands[k][0], float(p[k])))
        ins = [o for o in outcomes if o[0] != "out-of-scope"]
        oos = [o for o in outcomes if o[0] == "out-of-scope"]
        return (np.mean([o[2] == o[1] for o in ins]),
                np.mean([o[2] == o[1] and o[3] >= threshold for o in ins]),
                np.mean([o[2] != o[1] and o[3] >= threshold for o in ins]),
                np.mean([o[3] < threshold for o in oos]))

    folds = np.random.default_rng(0).integers(0, 5, len(rows))
    print("threshold  top-1  confident&right  confident&wrong  out-of-scope unconfident  (5-fold CV)")
    for threshold in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
        scores = []
        for k in range(5):
            train = [r for r, f in zip(rows, folds, strict=True) if f != k]
            test = [r for r, f in zip(rows, folds, strict=True) if f == k]
            scores.append(evaluate(fit(*xy(train)), test, threshold))
        m = np.mean(scores, axis=0)
        print(f"{threshold:9.2f}  {m[0]:5.1%}  {m[1]:15.1%}  {m[2]:15.1%}  {m[3]:24.1%}")
    w = fit(*xy(rows))
    print("\nMODEL =", tuple(round(float(v), 3) for v in w[:-1]))
    print("BIAS =", round(float(w[-1]), 3))


if __name__ == "__main__":
    main()

"""The meaning side of matching: sentence vectors of every card line.

Per query: cosine to the card's nearest title or question, and a classifier
score. The classifier is a ridge regression from a line's vector to its card
(one-vs-rest, closed form: one d x d solve), fitted at load on all the cards' own
lines (titles weighted up, steps and scripts down): about 0.1 s for 50 cards,
seconds for 2,000. Only title and question vectors are kept after that (the
nearest other line added nothing on cross-validation, bench/fit_ranker.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RIDGE = 1.0  # L2 of the classifier; results hardly move between 0.3 and 10 (bench/)
CHUNK = 20_000  # rows per block when summing X^T X, to bound the float32 copies


@dataclass(frozen=True)
class Meaning:
    """A query against the candidate cards."""

    near: np.ndarray  # best cosine with one of the card's titles or questions
    klass: np.ndarray  # classifier score


class Semantic:
    """Line vectors grouped by card (float16: half the memory, cast per query)."""

    def __init__(self, vectors: np.ndarray, owner: np.ndarray, asked: np.ndarray,
                 weight: np.ndarray, n: int) -> None:
        """`owner[i]`: the card of line i (ascending); `asked[i]`: a title or question;
        `weight[i]`: its weight in the classifier."""
        self.n = n
        self.asked = _Group(vectors[asked], owner[asked], n)
        self.classes = _ridge(vectors, owner, weight, n)

    def scores(self, query: np.ndarray, cards: np.ndarray) -> Meaning:
        return Meaning(self.asked.best(query, cards), self.classes.T[cards] @ query)

    def classify(self, query: np.ndarray) -> np.ndarray:
        """Classifier score of every card (for picking candidates)."""
        return query @ self.classes


class _Group:
    def __init__(self, vectors: np.ndarray, owner: np.ndarray, n: int) -> None:
        self.vectors = vectors.astype(np.float16, copy=False)
        self.start = np.searchsorted(owner, np.arange(n + 1))  # card c: rows start[c]:start[c+1]

    def best(self, query: np.ndarray, cards: np.ndarray) -> np.ndarray:
        """Per card in `cards`, its best cosine with the query (-1 for a card with no lines)."""
        lo, hi = self.start[cards], self.start[cards + 1]
        sizes = hi - lo
        if not sizes.sum():
            return np.full(len(cards), -1.0)
        ends = np.cumsum(sizes)
        rows = np.arange(int(ends[-1])) + np.repeat(lo - (ends - sizes), sizes)
        sims = self.vectors[rows].astype(np.float32) @ query
        best = np.full(len(cards), -1.0)
        has = sizes > 0
        best[has] = np.maximum.reduceat(sims, (ends - sizes)[has])
        return best


def _ridge(x: np.ndarray, owner: np.ndarray, weight: np.ndarray, n: int) -> np.ndarray:
    """(d, n) weights W minimising sum_i w_i |x_i W - (onehot_i - 1/n)|^2 + RIDGE |W|^2."""
    d = x.shape[1]
    gram = np.eye(d) * RIDGE
    sums = np.zeros((n, d))
    for lo in range(0, len(x), CHUNK):
        block = x[lo:lo + CHUNK].astype(np.float32)
        weighted = block * weight[lo:lo + CHUNK, None].astype(np.float32)
        gram += weighted.T @ block  # float32 products (BLAS), summed in float64
        cards, first = np.unique(owner[lo:lo + CHUNK], return_index=True)  # rows come by card
        sums[cards] += np.add.reduceat(weighted, first)
    target = sums.T - sums.sum(axis=0)[:, None] / n
    return np.linalg.solve(gram, target).astype(np.float32)

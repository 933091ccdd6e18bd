"""Matching a hurried question to a card.

Design (chosen by measurement, see bench/search_bench.py and the README):
1. Normalise (NFKC, case, traditional -> simplified, Cantonese and English
   shorthand), then tokens: CJK unigrams + bigrams, English word stems
   (bot/terms.py, for the cards and the query alike).
2. English words the index has never seen are corrected to the nearest index
   word or synonym (rapidfuzz), so "balnce" finds "balance"; "yellin" is "yelling".
3. BM25 over each card (titles and questions weighted up) retrieves candidates;
   the top ones are re-ranked by query coverage and by fuzzy similarity to the
   card's titles and questions.
4. Each candidate's score is a logistic model over those features, the lead
   over the best other candidate and how much distinctive evidence matched;
   fitted on the dev set plus out-of-scope questions (bench/calibrate.py), it
   reads as "probability this card is the one". `confident` is a threshold on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from bot.models import Card, Match, SearchResult
from bot.terms import SHORTHAND, bm25, column_sums, index_terms, prepare, tokens

FIELD_WEIGHTS = {"title": 3, "questions": 2, "summary": 1, "body": 1}
K1, B = 1.2, 0.75
RERANK = 10


@dataclass(frozen=True)
class Features:
    """Why a card scored as it did (kept for calibration in bench/)."""

    coverage: float  # idf-weighted share of the query's terms found in the card
    phrase: float  # best idf-weighted overlap (Dice) with one title or question
    matched: float  # distinctive evidence: weight of matched words / bigrams, capped, 0..1
    unknown: float  # share of the query's weight the cards never use
    length: float  # number of query terms, capped, 0..1
    lead: float  # base score minus the best other candidate's
    relative: float  # BM25 relative to the best card's

    def vector(self) -> tuple[float, ...]:
        return (self.coverage, self.phrase, self.matched, self.unknown, self.length, self.lead,
                self.relative)


class Index:
    """BM25 over cards, re-ranked on coverage and phrase overlap; build once per knowledge base.

    Everything per query is vectorised over all cards (numpy), so cost grows with
    the postings a query touches, not with Python work per card.
    """

    BASE = (0.45, 0.45, 0.10)  # base score: coverage, phrase, relative BM25
    # Logistic model over Features.vector(), fitted by bench/calibrate.py.
    MODEL = (-0.342, 5.965, 4.017, -0.138, 1.377, 5.528, 8.513)
    BIAS = -13.093
    CONFIDENT = 0.50  # answer with the card (90% of out-of-scope stay below, bench/)
    PLAUSIBLE = 0.20  # otherwise offer "did you mean"

    def __init__(self, cards: list[Card]) -> None:
        self.cards = list(cards)
        n = len(self.cards)
        texts: list[str] = []
        sizes: list[int] = []  # lines per card and field
        for card in self.cards:
            for lines in _fields(card).values():
                texts += lines
                sizes.append(len(lines))
        per_field = np.array(sizes, dtype=np.int64).reshape(-1, len(FIELD_WEIGHTS))
        owner = np.repeat(np.arange(n), per_field.sum(axis=1))
        weight = np.repeat(np.tile(list(FIELD_WEIGHTS.values()), n), per_field.ravel())
        # titles and questions are also phrases (ids in text order), grouped by card
        is_phrase = np.repeat(np.tile([f in ("title", "questions") for f in FIELD_WEIGHTS], n),
                              per_field.ravel())
        phrase = np.where(is_phrase, np.cumsum(is_phrase) - 1, -1)
        vocab: dict[str, int] = {}
        by_card, by_phrase = index_terms(texts, owner, weight, phrase, vocab)
        self.vocab = vocab
        # card postings: a CSR matrix term -> (card ids, BM25 term weights)
        by_card = bm25(by_card, n, K1, B)
        self.doc_ptr, self.doc_ids, self.doc_w = by_card.ptr, by_card.docs, by_card.weights
        df = np.diff(self.doc_ptr).astype(np.float64)
        self._used = (df > 0).tobytes()  # per term: 1 if a card uses it (a phrase may not)
        self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        self.unknown_idf = math.log(1 + (n + 0.5) / 0.5)
        single = np.fromiter((len(t) == 1 and not t.isascii() for t in vocab), dtype=bool,
                             count=len(vocab))  # ids follow insertion order
        # A term's weight in coverage and overlap: idf, CJK single characters at half.
        self.weight_of = np.where(single, 0.5, 1.0) * self.idf
        self.strong = ~single
        # phrase postings: term -> phrases (titles and questions), phrases grouped by card
        self.phrase_ptr, self.phrase_ids = by_phrase.ptr, by_phrase.docs
        self.phrase_card = owner[is_phrase].astype(np.int32)
        self.phrase_start = np.flatnonzero(np.diff(self.phrase_card, prepend=-1))
        self.phrase_owner = self.phrase_card[self.phrase_start]
        self.phrase_weight = column_sums(by_phrase, self.weight_of, len(self.phrase_card))
        self.words = [t for t in vocab if t.isascii() and t.isalpha() and len(t) >= 4
                      and self.doc_ptr[vocab[t] + 1] > self.doc_ptr[vocab[t]]]
        # typo targets: index words, and the synonyms and shorthand that fold into them
        self.spellings = self.words + sorted(k for k in SHORTHAND if len(k) >= 4
                                             and k.isalpha() and k not in vocab)
        # bounded: every new word users type would otherwise stay
        self._correct = lru_cache(maxsize=4096)(self._fix)

    def _fix(self, word: str) -> tuple[str, ...]:
        """Index terms for an unknown English word (typo tolerance): "yellin" read
        as "yelling"; else the nearest index word, or the nearest synonym or shorthand
        folded as usual ("jornalist" -> journalist -> reporter); else the word itself."""
        if len(word) < 4 or not word.isalpha():
            return (word,)
        if word.endswith("in"):  # chat English drops the g: askin, starin
            full = tokens(prepare(word + "g"))
            if all(self._known(t) is not None for t in full):
                return tuple(full)  # [] for a stop word ("doin")
        found = process.extract(word, self.spellings, scorer=fuzz.ratio, score_cutoff=80,
                                limit=None)
        if not found:
            return (word,)
        # equally close: the word more cards use, then the first in order; never the
        # index's build order, so the answer does not change with how it was built
        best = min(found, key=lambda f: (-f[1], -self._df(f[0]), f[0]))[0]
        return tuple(tokens(prepare(best))) if best in SHORTHAND else (best,)

    def _df(self, term: str) -> int:
        tid = self.vocab.get(term)
        return 0 if tid is None else int(self.doc_ptr[tid + 1] - self.doc_ptr[tid])

    def _known(self, term: str) -> int | None:
        tid = self.vocab.get(term)
        return tid if tid is not None and self._used[tid] else None

    def query_terms(self, query: str) -> list[str]:
        """Query tokens; unknown English words corrected where a close index word exists."""
        terms: list[str] = []
        for tok in tokens(prepare(query)):
            if self._known(tok) is None and tok.isascii():
                terms += self._correct(tok)
            else:
                terms.append(tok)
        return terms

    def search(self, query: str, limit: int = 3) -> SearchResult:
        """Best cards for `query`, best first, with scores in [0, 1] and a confidence decision."""
        ranked = self.rank(query)
        matches = tuple(Match(self.cards[i], round(p, 4)) for p, i, _ in ranked[:limit])
        if not ranked:
            return SearchResult(query, False, ())
        top, _, feats = ranked[0]
        # Short but fully on-topic ("complaint", "利息") is worth a "did you mean".
        on_topic = feats.unknown == 0 and feats.coverage >= 0.99 and feats.phrase >= 0.15
        return SearchResult(query, top >= self.CONFIDENT, matches,
                            top >= self.PLAUSIBLE or on_topic)

    def rank(self, query: str) -> list[tuple[float, int, Features]]:
        """(probability, card index, features) for the re-ranked candidates, best first."""
        terms = set(self.query_terms(query))
        ids = {t: self._known(t) for t in terms}
        known = [tid for tid in ids.values() if tid is not None]
        n = len(self.cards)
        if not known or not n:
            return []
        unknown_weight = sum(self.unknown_idf * (0.5 if len(t) == 1 and not t.isascii() else 1)
                             for t, tid in ids.items() if tid is None)
        q_weight = float(self.weight_of[known].sum()) + unknown_weight
        # all the query terms' postings in one go (sorted ids: the same sums every run)
        tids = np.array(sorted(known), dtype=np.int64)
        at, of = _postings(self.doc_ptr, tids)
        cards, weight = self.doc_ids[at], self.weight_of[of]
        bm25 = np.bincount(cards, weights=self.doc_w[at] * self.idf[of], minlength=n)
        covered = np.bincount(cards, weights=weight, minlength=n)
        strong = np.bincount(cards, weights=weight * self.strong[of], minlength=n)
        at, of = _postings(self.phrase_ptr, tids)
        shared = np.bincount(self.phrase_ids[at], weights=self.weight_of[of],
                             minlength=len(self.phrase_card))
        top = [int(i) for i in np.argsort(-bm25)[:RERANK] if bm25[i] > 0]
        if not top:
            return []
        dice = 2 * shared / (q_weight + self.phrase_weight)
        phrase = np.zeros(n)  # each card's best phrase (phrases come grouped by card)
        phrase[self.phrase_owner] = np.maximum.reduceat(dice, self.phrase_start)
        at = np.array(top)
        best = float(bm25[top[0]])
        unknown = unknown_weight / q_weight
        length = min(len(terms), 20) / 20
        wc, wp, wr = self.BASE
        base = wc * covered[at] / q_weight + wp * phrase[at] + wr * bm25[at] / best
        # each candidate's lead over the best of the others
        first = int(np.argmax(base))
        others = np.delete(base, first)
        lead = base - np.where(np.arange(len(top)) == first,
                               others.max() if len(others) else 0.0, base[first])
        ranked = []
        for k, (cov, phr, evidence, ahead, rel) in enumerate(zip(
                (covered[at] / q_weight).tolist(), phrase[at].tolist(), strong[at].tolist(),
                lead.tolist(), (bm25[at] / best).tolist(), strict=True)):
            feats = Features(cov, phr, min(evidence, 15.0) / 15.0, unknown, length, ahead, rel)
            z = self.BIAS + sum(w * x for w, x in zip(self.MODEL, feats.vector(), strict=True))
            ranked.append((1.0 / (1.0 + math.exp(-z)), top[k], feats))
        ranked.sort(key=lambda r: -r[0])
        return ranked


def _postings(ptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the CSR rows `rows` sit, all at once: (entry positions, row of each)."""
    lo = ptr[rows]
    sizes = ptr[rows + 1] - lo
    ends = np.cumsum(sizes)
    at = np.arange(int(ends[-1]) if len(ends) else 0) + np.repeat(lo - (ends - sizes), sizes)
    return at, np.repeat(rows, sizes)


def _fields(card: Card) -> dict[str, list[str]]:
    body: list[str] = []
    for lines in (card.steps, card.say, card.escalate, card.never):
        body += [*lines.zh, *lines.en]
    return {
        "title": [card.title.zh, card.title.en, card.id.replace(".", " ").replace("_", " ")],
        "questions": [*card.questions.zh, *card.questions.en],
        "summary": [card.summary.zh, card.summary.en],
        "body": body,
    }

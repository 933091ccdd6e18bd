"""The word side of matching: BM25 over the cards, coverage and phrase overlap.

1. Normalise (NFKC, case, traditional -> simplified, Cantonese and English
   shorthand), then tokens: CJK unigrams + bigrams, English word stems
   (bot/terms.py, for the cards and the query alike).
2. English words the index has never seen are corrected to the nearest index
   word or synonym (rapidfuzz), so "balnce" finds "balance"; "yellin" is "yelling".
3. Per query, vectorised over all cards (numpy): BM25, the idf-weighted share of
   the query found in each card, the best overlap with one of its titles or
   questions, and the distinctive evidence matched. Cost grows with the postings a
   query touches, not with Python work per card.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.terms import SHORTHAND, bm25, column_sums, index_terms, prepare, tokens

FIELDS = ("title", "questions", "summary", "body")
_SURFACE = re.compile(r"[a-z]{4,}")
FIELD_WEIGHTS = (3, 2, 1, 1)  # in BM25; titles and questions are also phrases
K1, B = 1.2, 0.75


@dataclass(frozen=True)
class Words:
    """One query against every card (arrays of length n cards)."""

    bm25: np.ndarray
    coverage: np.ndarray  # idf-weighted share of the query's terms found in the card
    phrase: np.ndarray  # best idf-weighted overlap (Dice) with one title or question
    matched: np.ndarray  # distinctive evidence: weight of matched words / bigrams, capped, 0..1
    unknown: float  # share of the query's weight the cards never use
    length: float  # number of query terms, capped, 0..1


class Lexical:
    """Postings of every card's fields; build once per knowledge base."""

    def __init__(self, fields: list[tuple[list[str], ...]]) -> None:
        """`fields`: per card, its lines in FIELDS order, already `prepare`d."""
        n = self.n = len(fields)
        texts = [line for card in fields for lines in card for line in lines]
        per_field = np.array([len(lines) for card in fields for lines in card],
                             dtype=np.int64).reshape(-1, len(FIELDS))
        owner = np.repeat(np.arange(n), per_field.sum(axis=1))
        weight = np.repeat(np.tile(FIELD_WEIGHTS, n), per_field.ravel())
        # titles and questions are also phrases (ids in text order), grouped by card
        is_phrase = np.repeat(np.tile([f in ("title", "questions") for f in FIELDS], n),
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
        # the cards' English words as written (not stemmed), by use: the embedding model
        # reads a question with its typos mended to these ("balnce" -> balance)
        used = Counter(w for t in texts for w in _SURFACE.findall(t))
        self.used = frozenset(used)
        # then the synonyms and shorthand, folded as usual ("jornalist" -> reporter)
        self.surface = sorted(used, key=lambda w: (-used[w], w)) + sorted(
            k for k in SHORTHAND if len(k) >= 4 and k.isalpha() and k not in used)
        self._mend = lru_cache(maxsize=4096)(self._mend_word)

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
        # a typo is one slip in a short word, two in a long one: "audit" is not "admit"
        slips = 1 if len(word) <= 6 else 2
        found = [f for f in found if OSA.distance(word, f[0], score_cutoff=slips) <= slips]
        if not found:
            return (word,)
        # equally close: the word more cards use, then the first in order; never the
        # index's build order, so the answer does not change with how it was built
        best = min(found, key=lambda f: (-f[1], -self._df(f[0]), f[0]))[0]
        return tuple(tokens(prepare(best))) if best in SHORTHAND else (best,)

    def mend(self, prepared: str) -> str:
        """`prepare`d text with English words the cards never use replaced by the nearest
        word they do (one slip in a short word, two in a long one)."""
        return _SURFACE.sub(lambda m: self._mend(m.group(0)), prepared)

    def _mend_word(self, word: str) -> str:
        if word in self.used:
            return word
        if word.endswith("in") and word + "g" in self.used:  # askin, starin
            return word + "g"
        # OSA distance: a slip is one character added, dropped, changed or two swapped
        found = process.extractOne(word, self.surface, scorer=OSA.distance,
                                   score_cutoff=1 if len(word) <= 6 else 2)
        if found is None:
            return word
        return SHORTHAND.get(found[0], found[0])  # the most used of the closest

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

    def scores(self, query: str) -> Words | None:
        """The query against every card; None when no term of it is in any card."""
        terms = set(self.query_terms(query))
        ids = {t: self._known(t) for t in terms}
        known = [tid for tid in ids.values() if tid is not None]
        n = self.n
        if not known or not n:
            return None
        unknown_weight = sum(self.unknown_idf * (0.5 if len(t) == 1 and not t.isascii() else 1)
                             for t, tid in ids.items() if tid is None)
        q_weight = float(self.weight_of[known].sum()) + unknown_weight
        # all the query terms' postings in one go (sorted ids: the same sums every run)
        tids = np.array(sorted(known), dtype=np.int64)
        at, of = _postings(self.doc_ptr, tids)
        cards, weight = self.doc_ids[at], self.weight_of[of]
        score = np.bincount(cards, weights=self.doc_w[at] * self.idf[of], minlength=n)
        covered = np.bincount(cards, weights=weight, minlength=n)
        strong = np.bincount(cards, weights=weight * self.strong[of], minlength=n)
        at, of = _postings(self.phrase_ptr, tids)
        shared = np.bincount(self.phrase_ids[at], weights=self.weight_of[of],
                             minlength=len(self.phrase_card))
        dice = 2 * shared / (q_weight + self.phrase_weight)
        phrase = np.zeros(n)  # each card's best phrase (phrases come grouped by card)
        phrase[self.phrase_owner] = np.maximum.reduceat(dice, self.phrase_start)
        return Words(score, covered / q_weight, phrase, np.minimum(strong, 15.0) / 15.0,
                     unknown_weight / q_weight, min(len(terms), 20) / 20)


def _postings(ptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the CSR rows `rows` sit, all at once: (entry positions, row of each)."""
    lo = ptr[rows]
    sizes = ptr[rows + 1] - lo
    ends = np.cumsum(sizes)
    at = np.arange(int(ends[-1]) if len(ends) else 0) + np.repeat(lo - (ends - sizes), sizes)
    return at, np.repeat(rows, sizes)

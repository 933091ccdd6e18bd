"""Matching a hurried question to a card.

Two signals, fused by a trained ranker (measured in bench/, numbers in bench/README.md):
- words (bot/lexical.py): BM25 over normalised terms, coverage, phrase overlap, typos;
- meaning (bot/semantic.py): sentence embeddings of every card line (bot/embeddings.py),
  nearest question, nearest other line, and a classifier fitted on the cards' lines.
bot/ranker.py picks candidates and turns their features into "probability this card
is the one"; `confident` is a calibrated threshold on it. Without a model (setting
`off`, or a platform where it cannot load) the index matches on words alone, with
weights fitted for that case.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.embeddings import Embedder
from bot.lexical import Lexical, Words
from bot.models import Card, Match, SearchResult
from bot.ranker import (
    THIRD_PARTY,
    Model,
    about_other_person,
    candidates,
    features,
    probabilities,
    third_party_share,
)
from bot.semantic import Meaning, Semantic
from bot.smalltalk import smalltalk
from bot.terms import prepare, prepare_many
from bot.weights import FITTED

log = logging.getLogger(__name__)
WORDS = "words"  # the ranker's mode without embeddings
LINE_WEIGHT = {"title": 3.0, "questions": 1.0, "other": 0.3}  # in the classifier


@dataclass(frozen=True)
class Ranked:
    """Scored candidates of one query, best first (bench/fit_ranker.py reads the features)."""

    cards: np.ndarray
    scores: np.ndarray
    features: dict[str, np.ndarray]
    other_person: bool
    mode: str = WORDS  # the weights used: the model's, or words alone


class Index:
    """Both signals over a card set; build once per knowledge base.

    `extra` adds ways of asking per card id (accepted suggestions) without touching
    the cards; `with_questions` builds a new index with more of them.
    """

    def __init__(self, cards: Sequence[Card], extra: Mapping[str, Sequence[str]] | None = None,
                 embedder: Embedder | None = None) -> None:
        self.cards = list(cards)
        self.extra = {k: tuple(v) for k, v in (extra or {}).items() if v}
        self.embedder = embedder
        lines = [_lines(c, self.extra.get(c.id, ())) for c in self.cards]
        # every line prepared once (one OpenCC call) for both signals and the cues
        raw = [t for ln in lines for f in ("title", "questions", "other") for t in ln[f]]
        raw += [_id_words(c) for c in self.cards]
        prep = dict(zip(raw, prepare_many(raw), strict=True))
        self.lexical = Lexical([([prep[t] for t in ln["title"] + [_id_words(c)]],
                                 *([prep[t] for t in ln[f]] for f in ("questions", "summary",
                                                                       "body")))
                                for c, ln in zip(self.cards, lines, strict=True)])
        self.third = third_party_share([[(q, prep[q]) for q in ln["questions"]] for ln in lines])
        self.semantic: Semantic | None = None
        if embedder is None or embedder.problem:  # off, or said once when it failed
            return
        if embedder.name not in FITTED:
            log.warning("no ranker weights for %s: matching uses words only; fit them with "
                        "bench/fit_ranker.py --models words,%s --write", embedder.name,
                        embedder.name)
            return
        self.semantic = self._semantic(lines, prep)
        embedder.start()  # a bot's model loads now, after the build it would slow

    @property
    def mode(self) -> str:
        """The ranker in use: the embedding model's name, or "words"."""
        if self.semantic is None or self.embedder is None or self.embedder.problem:
            return WORDS
        return self.embedder.name

    def with_questions(self, extra: Mapping[str, Sequence[str]]) -> Index:
        """The same cards with these extra ways of asking (they replace any given before;
        cached vectors make it quick: only new questions are embedded)."""
        return Index(self.cards, extra, self.embedder)

    def _semantic(self, lines: list[dict[str, list[str]]], prep: dict[str, str]
                  ) -> Semantic | None:
        assert self.embedder is not None
        texts: list[str] = []
        owner: list[int] = []
        kind: list[str] = []
        for n, card in enumerate(lines):
            for field in ("title", "questions", "other"):
                texts += card[field]
                owner += [n] * len(card[field])
                kind += [field] * len(card[field])
        asked = np.array([k != "other" for k in kind], dtype=bool)
        # the model reads lines as the words side does (simplified, dialect and shorthand
        # folded): +1.7 points top-1 on cross-validation (bench/fit_ranker.py)
        vectors = self.embedder.lines([prep[t] for t in texts], asked.tolist())
        if vectors is None:
            return None
        weight = np.array([LINE_WEIGHT[k] for k in kind])
        return Semantic(vectors, np.array(owner, dtype=np.int64), asked, weight, len(lines))

    def query_terms(self, query: str) -> list[str]:
        return self.lexical.query_terms(query)

    def rank(self, query: str) -> Ranked:
        """Every candidate card for `query`, scored, best first (on words alone while
        the model is loading or if it fails)."""
        words: Words | None = self.lexical.scores(query)
        vector = self._embed(query)
        mode = self.mode if vector is not None else WORDS
        klass = self.semantic.classify(vector) if self.semantic and vector is not None else None
        if words is None and mode == WORDS:
            klass = None
        cards = candidates(words, klass)
        if not len(cards):
            return Ranked(cards, np.zeros(0), {}, False)
        other = about_other_person(query)
        if other:  # the cards that speak of others' data are always weighed
            cards = np.union1d(cards, np.flatnonzero(self.third >= THIRD_PARTY))
        meaning: Meaning | None = None
        if mode != WORDS and self.semantic is not None and vector is not None:
            meaning = self.semantic.scores(vector, cards)
        # a question about someone else's data leans to the cards that speak of it
        feats = features(cards, words, meaning, self.third[cards] if other else None)
        scores = probabilities(_model(mode), feats, len(cards))
        order = np.argsort(-scores, kind="stable")
        return Ranked(cards[order], scores[order], {k: v[order] for k, v in feats.items()},
                      other, mode)

    def _embed(self, query: str) -> np.ndarray | None:
        if self.semantic is None or self.embedder is None or not query.strip():
            return None
        # typos mended first: the model's word pieces do not forgive them as BM25 does
        vectors = self.embedder.embed([self.lexical.mend(prepare(query[:500]))], query=True,
                                      wait=not self.embedder.background)
        return None if vectors is None else vectors[0]

    def search(self, query: str, limit: int = 3) -> SearchResult:
        """Best cards for `query`, best first, with scores in [0, 1] and a confidence
        decision; small talk ("thanks", "好的", "唔該") is flagged and matches nothing.
        Ask for a larger `limit` to offer the next best cards."""
        kind = smalltalk(query)
        if kind:
            return SearchResult(query, False, (), False, smalltalk=kind)
        ranked = self.rank(query)
        matches = tuple(Match(self.cards[int(i)], round(float(p), 4))
                        for i, p in zip(ranked.cards[:limit], ranked.scores[:limit], strict=True))
        if not matches:
            return SearchResult(query, False, ())
        model = _model(ranked.mode)
        top, f = float(ranked.scores[0]), {k: float(v[0]) for k, v in ranked.features.items()}
        # never a how-to for one's own data when the question is about someone else's
        shielded = ranked.other_person and self.third[int(ranked.cards[0])] < THIRD_PARTY
        # Short but fully on-topic ("complaint", "利息") is worth a "did you mean".
        on_topic = f["unknown"] == 0 and f["coverage"] >= 0.99 and f["phrase"] >= 0.15
        return SearchResult(query, top >= model.confident and not shielded, matches,
                            top >= model.plausible or on_topic)

    def alternatives(self, query: str, shown: str, limit: int = 3) -> tuple[Match, ...]:
        """The next best cards for `query` after the card `shown` (e.g. after a 👎)."""
        found = self.search(query, limit + 1).matches
        return tuple(m for m in found if m.card.id != shown)[:limit]

    async def asearch(self, query: str, limit: int = 3) -> SearchResult:
        """`search` in the embedding worker threads, off the event loop."""
        if self.embedder is None or self.semantic is None:
            return self.search(query, limit)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.embedder.pool, self.search, query, limit)


def _model(mode: str) -> Model:
    """The fitted weights of `mode` (a model without its own: those for words alone)."""
    weights, bias, confident, plausible = FITTED.get(mode, FITTED[WORDS])
    return Model(weights, bias, confident, plausible)


def _id_words(card: Card) -> str:
    return card.id.replace(".", " ").replace("_", " ")


def _lines(card: Card, extra: Sequence[str]) -> dict[str, list[str]]:
    """A card's lines by role: titles and questions (also phrases), summary, the rest."""
    body: list[str] = []
    for lines in (card.now, card.steps, card.say, card.escalate, card.never):
        body += [*lines.zh, *lines.en]
    summary = [card.summary.zh, card.summary.en]
    return {"title": [card.title.zh, card.title.en],
            "questions": [*card.questions.zh, *card.questions.en, *extra],
            "summary": summary, "body": body, "other": summary + body}

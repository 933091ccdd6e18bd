"""Matching a hurried question to a card.

Design (chosen by measurement, see bench/search_bench.py and the README):
1. Normalise (NFKC, case, traditional -> simplified, Cantonese and English
   shorthand), then tokens: CJK unigrams + bigrams, English word stems.
2. English words the index has never seen are corrected to the nearest index
   word (rapidfuzz), so "balnce" finds "balance".
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
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from bot.models import Card, Match, SearchResult
from bot.text import CJK, chunks, normalise

_CJK_RUN = re.compile(f"^[{CJK}]+$")

# Cantonese and spoken forms -> Mandarin written forms (applied after t2s).
DIALECT = {
    "咗": "了", "嘅": "的", "唔": "不", "佢哋": "他们", "佢": "他", "攞": "拿", "係": "是",
    "点样": "怎样", "点算": "怎么办", "冇": "没有", "畀": "给", "啲": "些", "喺": "在",
    "乜嘢": "什么", "咩": "什么", "边度": "哪里", "嘢": "东西", "睇": "看", "俾": "给",
    "咁": "这么", "而家": "现在", "唔该": "请", "搞掂": "搞定", "客人": "客户",
    "顾客": "客户", "咋整": "怎么办", "咋办": "怎么办", "咋弄": "怎么办", "咋": "怎么",
    "啥": "什么", "帐户": "账户", "帐号": "账号", "嚟": "来", "啱": "对", "边个": "谁",
    "边": "哪", "咁样": "这样", "仲": "还", "几多": "多少", "乜": "什么", "揾": "找",
    "晒": "完", "紧": "着", "后生仔": "年轻人", "上堂": "上课", "开唔到": "打不开",
    "冇钱": "没钱", "畀人": "被人", "俾人": "被人", "点解": "为什么", "系咪": "是不是",
    "咪": "不要", "啦": "", "喇": "", "㗎": "", "嘞": "", "囉": "", "喎": "", "嘛": "",
}
# English shorthand and typos common in chat -> words the cards use.
SHORTHAND = {
    "cust": "customer", "custs": "customers", "cus": "customer", "clnt": "client",
    "abt": "about", "wat": "what", "wht": "what", "pls": "please", "plz": "please",
    "acct": "account", "acc": "account", "a/c": "account", "txn": "transaction",
    "trx": "transaction", "bal": "balance", "pwd": "password", "pw": "password",
    "otp": "verification code", "sms": "sms text message", "msg": "message",
    "u": "you", "ur": "your", "r": "are", "b4": "before", "w/": "with", "w": "with",
    "n": "and", "&": "and", "2": "to", "4": "for", "thx": "thanks", "govt": "government",
    "mgr": "manager", "sup": "supervisor", "svc": "service", "amt": "amount",
    "int": "interest", "xfer": "transfer", "xfr": "transfer", "tfr": "transfer",
    "atm": "atm", "app": "app", "hv": "have", "cuz": "because", "bc": "because",
    "sez": "says", "sed": "said", "ppl": "people", "info": "information", "vip": "vip",
    "kpi": "kpi", "kpis": "kpi", "wanna": "want to", "gonna": "going to", "dunno": "do not know",
    "shud": "should", "shld": "should", "cud": "could", "wud": "would", "tht": "that",
    "frm": "from", "2mrw": "tomorrow", "tmrw": "tomorrow", "tmr": "tomorrow", "som1": "someone",
    "sum1": "someone", "evry1": "everyone", "every1": "everyone", "any1": "anyone",
    "rite": "right", "im": "i am", "y": "why", "c": "see", "b": "be", "diff": "difference",
    "btwn": "between", "w/o": "without", "abt.": "about", "cos": "because", "coz": "because",
    "req": "request", "approx": "approximately", "mgmt": "management", "dept": "department",
    "hq": "head office", "ho": "head office", "pic": "photo", "pwds": "passwords",
    "asap": "immediately", "r u": "are you", "kinda": "kind of", "wats": "what is",
    "whats": "what is", "hw": "how", "nd": "and", "bcuz": "because", "yr": "year", "yrs": "years",
    "mth": "month", "mths": "months", "wk": "week", "2day": "today", "ystd": "yesterday",
}
EN_STOP = frozenset(
    ["a", "an", "the", "i", "me", "my", "we", "our", "you", "your", "he", "she", "it", "its", "they", "them", "his", "her", "is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "doing", "how", "what", "which", "who", "whom", "when", "where", "why", "can", "could", "should", "would", "will", "shall", "may", "might", "must", "to", "of", "in", "on", "at", "for", "from", "by", "with", "and", "or", "but", "if", "so", "as", "than", "then", "there", "this", "that", "these", "those", "please", "help", "tell", "about", "any", "some", "just", "now", "also", "very", "really", "need", "get", "got", "have", "has", "had", "want", "wants", "ok", "okay", "hi", "hello", "one", "thing", "things", "say", "says", "said"]
)
ZH_FILLER = sorted(
    ("怎么办", "怎么处理", "怎么弄", "怎么样", "怎么", "什么", "如何", "请问", "一下", "应该",
     "需要", "可以", "有没有", "是不是", "能不能", "要不要", "我们", "他们", "这个", "那个",
     "哪些", "有哪些", "是否", "的话", "一个", "吗", "呢", "啊", "吧", "呀", "嘛", "哦", "了",
     "的", "我", "你", "他", "她", "么"),
    key=len, reverse=True,
)
_ZH_FILLER_RE = re.compile("|".join(map(re.escape, ZH_FILLER)))
_WORD_RE = re.compile(r"[a-z0-9/&.]*[a-z0-9&]")
_DIALECT_RE = re.compile("|".join(map(re.escape, sorted(DIALECT, key=len, reverse=True))))

FIELD_WEIGHTS = {"title": 3, "questions": 2, "summary": 1, "body": 1}
K1, B = 1.2, 0.75
RERANK = 10


def stem(word: str) -> str:
    """A light English stemmer: enough to fold plurals and -ing/-ed forms."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl, min_len in (("ies", "y", 5), ("sses", "ss", 5), ("ing", "", 6),
                                  ("ed", "", 5), ("es", "", 5), ("s", "", 4)):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith("ss"):
            return word[: -len(suffix)] + repl
    return word


def prepare(text: str) -> str:
    """Normalised text with dialect and shorthand folded; shared by index and query."""
    text = normalise(text)
    text = _DIALECT_RE.sub(lambda m: DIALECT[m.group(0)], text)
    return _WORD_RE.sub(lambda m: SHORTHAND.get(m.group(0), m.group(0)), text.replace("'s ", " "))


def tokens(text: str, drop_filler: bool = True) -> list[str]:
    """CJK unigrams + bigrams and English stems of already `prepare`d text."""
    out: list[str] = []
    for chunk in chunks(text):
        if _CJK_RUN.match(chunk):
            parts = _ZH_FILLER_RE.split(chunk) if drop_filler else [chunk]
            for run in parts:
                out.extend(run)
                out.extend(map(str.__add__, run, run[1:]))
        elif not (drop_filler and chunk in EN_STOP):
            out.append(stem(chunk))
    return out


@dataclass(frozen=True)
class _Doc:
    card: Card
    phrases: tuple[frozenset[str], ...]  # token sets of titles and questions
    terms: frozenset[str]


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
    """BM25 over cards plus re-ranking on coverage and phrase overlap; build once per knowledge base."""

    BASE = (0.45, 0.45, 0.10)  # base score: coverage, phrase, relative BM25
    # Logistic model over Features.vector(), fitted by bench/calibrate.py.
    MODEL = (-0.335, 5.945, 3.971, -0.138, 1.375, 5.679, 8.02)
    BIAS = -12.604
    CONFIDENT = 0.45  # answer with the card
    PLAUSIBLE = 0.20  # otherwise offer "did you mean"

    def __init__(self, cards: list[Card]) -> None:
        self.docs: list[_Doc] = []
        counts: list[Counter[str]] = []
        phrases: list[tuple[frozenset[str], ...]] = []
        for card in cards:
            fields = _fields(card)
            tf: Counter[str] = Counter()
            for name, texts in fields.items():
                weight = FIELD_WEIGHTS[name]
                for t in texts:
                    for tok in tokens(prepare(t), drop_filler=False):
                        tf[tok] += weight
            counts.append(tf)
            phrases.append(tuple(frozenset(tokens(prepare(t)))
                                 for t in (*fields["title"], *fields["questions"])))
        n = len(counts)
        lengths = np.array([sum(c.values()) for c in counts] or [1], dtype=np.float64)
        avg = float(lengths.mean()) or 1.0
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for i, tf in enumerate(counts):
            norm = K1 * (1 - B + B * lengths[i] / avg)
            for tok, f in tf.items():
                ids, ws = postings.setdefault(tok, ([], []))
                ids.append(i)
                ws.append(f * (K1 + 1) / (f + norm))
        self.idf: dict[str, float] = {}
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for tok, (ids, ws) in postings.items():
            df = len(ids)
            self.idf[tok] = math.log(1 + (n - df + 0.5) / (df + 0.5))
            self.postings[tok] = (np.array(ids, dtype=np.int32), np.array(ws, dtype=np.float32))
        # A word the cards never use is as telling as the rarest word they do use.
        self.unknown_idf = math.log(1 + (n + 0.5) / 0.5)
        self.docs = [_Doc(c, p, frozenset(tf)) for c, p, tf in zip(cards, phrases, counts, strict=True)]
        self.words = [t for t in self.postings if t.isascii() and t.isalpha() and len(t) >= 4]
        self._fixes: dict[str, str | None] = {}

    def _correct(self, word: str) -> str | None:
        """Nearest index word for an unknown English word (typo tolerance), cached."""
        if word not in self._fixes:
            hit = None
            if len(word) >= 4 and word.isalpha():
                found = process.extractOne(word, self.words, scorer=fuzz.ratio, score_cutoff=80)
                hit = found[0] if found else None
            self._fixes[word] = hit
        return self._fixes[word]

    def weight(self, term: str) -> float:
        """A term's weight in coverage and overlap: idf, CJK single characters at half."""
        w = self.idf.get(term, self.unknown_idf)
        return w * 0.5 if len(term) == 1 and not term.isascii() else w

    def query_terms(self, query: str) -> list[str]:
        """Query tokens; unknown English words corrected where a close index word exists."""
        terms = []
        for tok in tokens(prepare(query)):
            if tok not in self.postings and tok.isascii():
                tok = self._correct(tok) or tok
            terms.append(tok)
        return terms

    def search(self, query: str, limit: int = 3) -> SearchResult:
        """Best cards for `query`, best first, with scores in [0, 1] and a confidence decision."""
        ranked = self.rank(query)
        matches = tuple(Match(self.docs[i].card, round(p, 4)) for p, i, _ in ranked[:limit])
        if not ranked:
            return SearchResult(query, False, ())
        top, _, feats = ranked[0]
        # Short but fully on-topic ("complaint", "利息") is worth a "did you mean".
        on_topic = feats.unknown == 0 and feats.coverage >= 0.99 and feats.phrase >= 0.15
        return SearchResult(query, top >= self.CONFIDENT, matches,
                            top >= self.PLAUSIBLE or on_topic)

    def rank(self, query: str) -> list[tuple[float, int, Features]]:
        """(probability, doc index, features) for the re-ranked candidates, best first."""
        terms = self.query_terms(query)
        known = Counter(t for t in terms if t in self.postings)
        if not known or not self.docs:
            return []
        scores = np.zeros(len(self.docs), dtype=np.float32)
        for tok, qtf in known.items():
            ids, ws = self.postings[tok]
            scores[ids] += ws * (self.idf[tok] * qtf)
        top = [int(i) for i in np.argsort(-scores)[:RERANK] if scores[i] > 0]
        query_set = frozenset(terms)
        q_weight = sum(self.weight(t) for t in query_set)
        unknown = sum(self.weight(t) for t in query_set if t not in self.postings) / q_weight
        length = min(len(query_set), 20) / 20
        strong = [t for t in query_set if t.isascii() or len(t) > 1]
        best = float(scores[top[0]])
        parts = []
        for i in top:
            doc = self.docs[i]
            coverage = sum(self.weight(t) for t in query_set if t in doc.terms) / q_weight
            phrase = max((self._dice(query_set, q_weight, p) for p in doc.phrases), default=0.0)
            matched = min(sum(self.weight(t) for t in strong if t in doc.terms), 15.0) / 15.0
            relative = float(scores[i]) / best
            wc, wp, wr = self.BASE
            parts.append((wc * coverage + wp * phrase + wr * relative, i, coverage, phrase,
                          matched, relative))
        ranked = []
        for base, i, coverage, phrase, matched, relative in parts:
            other = max((p[0] for p in parts if p[1] != i), default=0.0)
            feats = Features(coverage, phrase, matched, unknown, length, base - other, relative)
            z = self.BIAS + sum(w * x for w, x in zip(self.MODEL, feats.vector(), strict=True))
            ranked.append((1.0 / (1.0 + math.exp(-z)), i, feats))
        ranked.sort(key=lambda r: -r[0])
        return ranked

    def _dice(self, query: frozenset[str], q_weight: float, phrase: frozenset[str]) -> float:
        shared = query & phrase
        if not shared:
            return 0.0
        both = sum(self.weight(t) for t in shared)
        return 2 * both / (q_weight + sum(self.weight(t) for t in phrase))


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

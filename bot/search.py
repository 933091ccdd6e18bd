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

import gc
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import filterfalse

import numpy as np
from rapidfuzz import fuzz, process

from bot.models import Card, Match, SearchResult
from bot.text import CJK, normalise

_CJK_RUN = re.compile(f"^[{CJK}]+$")

# Cantonese and spoken forms -> Mandarin written forms (applied after t2s).
DIALECT = {
    "咗": "了", "嘅": "的", "唔": "不", "佢哋": "他们", "佢": "他", "攞": "拿", "係": "是",
    "点样": "怎样", "点算": "怎么办", "冇": "没有", "畀": "给", "啲": "些", "喺": "在",
    "乜嘢": "什么", "咩": "什么", "边度": "哪里", "嘢": "东西", "睇": "看", "俾": "给",
    "咁": "这么", "而家": "现在", "唔该": "请", "搞掂": "搞定", "客人": "客户",
    "顾客": "客户", "咋整": "怎么办", "咋办": "怎么办", "咋弄": "怎么办", "咋": "怎么",
    "啥": "什么", "帐户": "账户", "帐号": "账号", "嚟": "来", "啱": "对", "边个": "谁",
    "边条": "哪条", "咁样": "这样", "几多": "多少", "乜": "什么", "揾": "找", "后生仔": "年轻人", "上堂": "上课", "开唔到": "打不开",
    "冇钱": "没钱", "畀人": "被人", "俾人": "被人", "点解": "为什么", "系咪": "是不是",
    "啦": "", "喇": "", "㗎": "", "嘞": "", "囉": "", "喎": "",
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
    # plain synonyms, folded on both sides (cards and questions)
    "wire": "transfer", "wired": "transfer", "remit": "transfer", "remittance": "transfer",
    "cops": "police", "mad": "angry", "furious": "angry", "upset": "angry",
    "yelling": "shouting", "screaming": "shouting", "passcode": "password",
    "boss": "supervisor", "scammer": "scam", "scammers": "scam", "fraudster": "scam",
    "fraudsters": "scam", "hacked": "stolen", "journalist": "reporter",
    "journalists": "reporter", "complain": "complaint", "complains": "complaint",
    "complained": "complaint", "complaining": "complaint",
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
_SHORTHAND_RE = re.compile(
    r"(?<![a-z0-9/&])(?:" + "|".join(map(re.escape, sorted(SHORTHAND, key=len, reverse=True)))
    + r")(?![a-z0-9/&])")
_DIALECT_RE = re.compile("|".join(map(re.escape, sorted(DIALECT, key=len, reverse=True))))

FIELD_WEIGHTS = {"title": 3, "questions": 2, "summary": 1, "body": 1}
K1, B = 1.2, 0.75
RERANK = 10


def stem(word: str) -> str:
    """A light English stemmer: folds plurals, -ing / -ed and a final e.

    "charge", "charges", "charged" and "charging" all become "charg";
    "transferred" becomes "transfer".
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) >= 5:
        word = word[:-3] + "y"
    elif word.endswith("sses") or word.endswith("es") and len(word) >= 5 and word[:-2].endswith(("s", "x", "z", "ch", "sh")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    elif word.endswith("ing") and len(word) >= 6:
        word = word[:-3]
    elif word.endswith("ed") and len(word) >= 5:
        word = word[:-2]
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]  # transferr -> transfer, stopp -> stop
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def prepare(text: str) -> str:
    """Normalised text with dialect and shorthand folded; shared by index and query."""
    text = normalise(text)
    text = _DIALECT_RE.sub(lambda m: DIALECT[m.group(0)], text)
    return _SHORTHAND_RE.sub(lambda m: SHORTHAND[m.group(0)], text.replace("'s ", " "))


_UNIGRAM = re.compile(f"[{CJK}]")
_BIGRAM = re.compile(f"(?=([{CJK}]{{2}}))")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STEMS: dict[str, str] = {}


def tokens(text: str, drop_filler: bool = True) -> list[str]:
    """CJK unigrams + bigrams and English stems of already `prepare`d text.

    Regex scans at C speed: the index tokenises every card at start-up.
    """
    if drop_filler:
        text = _ZH_FILLER_RE.sub(" ", text)
    words = _WORD.findall(text)
    if drop_filler:
        words = [w for w in words if w not in EN_STOP]
    stems = [_STEMS.get(w) or _STEMS.setdefault(w, stem(w)) for w in words]
    return _UNIGRAM.findall(text) + _BIGRAM.findall(text) + stems


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
        # Millions of short-lived strings: the cyclic GC would rescan the growing heap
        # again and again (superlinear at 10,000 cards); nothing built here forms cycles.
        paused = gc.isenabled()
        gc.disable()
        try:
            self._build(cards)
        finally:
            if paused:
                gc.enable()

    def _build(self, cards: list[Card]) -> None:
        self.cards = list(cards)
        vocab: dict[str, int] = {}
        term_ids: list[list[int]] = []
        term_tfs: list[list[int]] = []
        phrase_terms: list[list[int]] = []
        phrase_card: list[int] = []
        for i, card in enumerate(self.cards):
            fields = _fields(card)
            bag: list[str] = []
            for name, texts in fields.items():
                bag += tokens(prepare(" ¦ ".join(texts)), drop_filler=False) * FIELD_WEIGHTS[name]
            tf = Counter(bag)
            _grow(vocab, tf.keys())
            term_ids.append(list(map(vocab.__getitem__, tf)))
            term_tfs.append(list(tf.values()))
            # one prepare() per card: "¦" survives normalising and splits the phrases again
            for text in prepare(" ¦ ".join((*fields["title"], *fields["questions"]))).split("¦"):
                terms = set(tokens(text))
                if terms:
                    _grow(vocab, terms)
                    phrase_terms.append(sorted(map(vocab.__getitem__, terms)))
                    phrase_card.append(i)
        self.vocab = vocab
        n = len(self.cards)
        doc_len = np.array([sum(x) for x in term_tfs] or [1], dtype=np.float64)
        avg = float(doc_len.mean()) or 1.0
        # card postings: a CSR matrix term -> (card ids, BM25 term weights)
        rows = np.concatenate([np.array(x, dtype=np.int32) for x in term_ids]) if n else \
            np.zeros(0, np.int32)
        cols = np.repeat(np.arange(n, dtype=np.int32), [len(x) for x in term_ids])
        tfs = np.concatenate([np.array(x, dtype=np.float64) for x in term_tfs]) if n else \
            np.zeros(0)
        norm = K1 * (1 - B + B * doc_len[cols] / avg) if n else np.zeros(0)
        self.doc_ptr, self.doc_ids, self.doc_w = _csr(rows, cols, tfs * (K1 + 1) / (tfs + norm),
                                                      len(vocab))
        df = np.diff(self.doc_ptr).astype(np.float64)
        self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        self.unknown_idf = math.log(1 + (n + 0.5) / 0.5)
        single = np.zeros(len(vocab), dtype=bool)
        for term, tid in vocab.items():
            single[tid] = len(term) == 1 and not term.isascii()
        # A term's weight in coverage and overlap: idf, CJK single characters at half.
        self.weight_of = np.where(single, 0.5, 1.0) * self.idf
        self.strong = ~single
        # phrase postings: term -> phrases (titles and questions), phrases grouped by card
        p_rows = np.array([t for p in phrase_terms for t in p], dtype=np.int32)
        p_cols = np.repeat(np.arange(len(phrase_terms), dtype=np.int32),
                           [len(p) for p in phrase_terms])
        self.phrase_ptr, self.phrase_ids, _ = _csr(p_rows, p_cols, np.ones(len(p_rows)),
                                                   len(vocab))
        self.phrase_card = np.array(phrase_card, dtype=np.int32)
        self.phrase_weight = np.bincount(p_cols, weights=self.weight_of[p_rows],
                                         minlength=len(phrase_terms))
        self.words = [t for t in vocab if t.isascii() and t.isalpha() and len(t) >= 4
                      and self.doc_ptr[vocab[t] + 1] > self.doc_ptr[vocab[t]]]
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

    def _known(self, term: str) -> int | None:
        tid = self.vocab.get(term)
        return tid if tid is not None and self.doc_ptr[tid + 1] > self.doc_ptr[tid] else None

    def query_terms(self, query: str) -> list[str]:
        """Query tokens; unknown English words corrected where a close index word exists."""
        terms = []
        for tok in tokens(prepare(query)):
            if self._known(tok) is None and tok.isascii():
                tok = self._correct(tok) or tok
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
        known = [tid for tid in (self._known(t) for t in terms) if tid is not None]
        n = len(self.cards)
        if not known or not n:
            return []
        unknown_weight = sum(self.unknown_idf * (0.5 if len(t) == 1 and not t.isascii() else 1)
                             for t in terms if self._known(t) is None)
        q_weight = float(self.weight_of[known].sum()) + unknown_weight
        bm25 = np.zeros(n)
        covered = np.zeros(n)
        strong = np.zeros(n)
        shared = np.zeros(len(self.phrase_card))
        for tid in known:
            lo, hi = self.doc_ptr[tid], self.doc_ptr[tid + 1]
            ids = self.doc_ids[lo:hi]
            bm25[ids] += self.doc_w[lo:hi] * self.idf[tid]
            covered[ids] += self.weight_of[tid]
            if self.strong[tid]:
                strong[ids] += self.weight_of[tid]
            plo, phi = self.phrase_ptr[tid], self.phrase_ptr[tid + 1]
            shared[self.phrase_ids[plo:phi]] += self.weight_of[tid]
        top = [int(i) for i in np.argsort(-bm25)[:RERANK] if bm25[i] > 0]
        if not top:
            return []
        dice = 2 * shared / (q_weight + self.phrase_weight)
        phrase = np.zeros(n)
        np.maximum.at(phrase, self.phrase_card, dice)
        best = float(bm25[top[0]])
        unknown = unknown_weight / q_weight
        length = min(len(terms), 20) / 20
        wc, wp, wr = self.BASE
        base = {i: wc * covered[i] / q_weight + wp * phrase[i] + wr * bm25[i] / best for i in top}
        ranked = []
        for i in top:
            other = max((base[j] for j in top if j != i), default=0.0)
            feats = Features(float(covered[i] / q_weight), float(phrase[i]),
                             min(float(strong[i]), 15.0) / 15.0, unknown, length,
                             base[i] - other, float(bm25[i]) / best)
            z = self.BIAS + sum(w * x for w, x in zip(self.MODEL, feats.vector(), strict=True))
            ranked.append((1.0 / (1.0 + math.exp(-z)), i, feats))
        ranked.sort(key=lambda r: -r[0])
        return ranked


def _grow(vocab: dict[str, int], terms: Iterable[str]) -> None:
    """Give new terms the next ids (set difference and update run at C speed)."""
    new = list(filterfalse(vocab.__contains__, terms))
    vocab.update(zip(new, range(len(vocab), len(vocab) + len(new)), strict=True))


def _csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n_rows: int
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compressed rows: for row r, cols[ptr[r]:ptr[r+1]] and their values."""
    order = np.argsort(rows, kind="stable")
    ptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=ptr[1:])
    return ptr, cols[order].astype(np.int32), values[order].astype(np.float32)


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

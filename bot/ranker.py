"""The trained ranker: candidates, their features, and a logistic model over them.

Candidates are the best cards by BM25 and, with embeddings, by the classifier.
Each gets features from both sides (bot/lexical.py, bot/semantic.py) and its lead
over the best other candidate; a logistic model fitted offline by
bench/fit_ranker.py (weights in bot/weights.py, one set per embedding model and
one for words only) turns them into "probability this card is the one".
`confident` is a threshold on it, calibrated by cross-validation.

A question about another person's data ("客户要打印他老婆的流水", "dad wants his
son's balance") is never answered confidently with a card that does not itself
speak of other people's data: a how-to for one's own statement would help a
privacy breach. Which cards do is read from their own questions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.lexical import Words
from bot.semantic import Meaning
from bot.terms import prepare
from bot.text import normalise

CANDIDATES = 10  # best by BM25, and as many again by the classifier
BASE = (0.45, 0.45, 0.10)  # the word-side score the lead is taken on: coverage, phrase, BM25
# A card speaks of others' data when this share of its questions do. A fifth: on the real
# cards only counter.privacy; the deceased and agent cards (0.09-0.13) are no confident
# answer about a living person's balance (no loss on cross-validation, bench/fit_ranker.py)
THIRD_PARTY = 0.2

# someone other than the customer at the counter: on its own, or after 他/她 (佢 folds to 他)
_KIN = ("老婆|老公|妻子|丈夫|太太|爱人|配偶|儿子|女儿|前夫|前妻|租客|房东|员工|亲戚|男朋友|女朋友|"
        "男友|女友|未婚妻|未婚夫|合伙人|别人|他人|其他人|外人|债务人|邻居|朋友|家人|家属|同学|"
        "哥哥|姐姐|弟弟|妹妹|爸爸|妈妈|父亲|母亲|阿爸|阿妈|个仔|个女|孩子|老细|老板|亲人|"
        "秘书|助理|保姆|室友|雇主|姐夫|妹夫|嫂子|弟媳|小姨子|小舅子|女婿|儿媳|媳妇|岳父|岳母|"
        "老丈人|丈母娘|舅舅|叔叔|姑姑|姨妈|侄子|侄女|外甥|表哥|表姐|表弟|表妹|堂哥|"
        "堂姐|阿哥|阿姐|阿弟|阿妹|阿爷|阿嫲|老豆|老窦|[他她](?:爸|妈|哥|姐|弟|妹|爷爷|奶奶|外公|外婆|公公|婆婆|老人|仔|女|家)")
_REL = ("wife|husband|son|daughter|mum|mom|mother|dad|father|brother|bro|sister|sis|friend|gf|"
        "bf|girlfriend|boyfriend|tenant|landlord|employee|employees|staff|neighbour|neighbor|ex|"
        "partner|cousin|uncle|aunt|grandma|grandpa|boss|relative|parent|parents|"
        "child|kid|kids|fiance|fiancee|someone else|somebody else|another person|other person|"
        "other people|others|someone|somebody")
_DATA = ("流水|余额|账户|账号|户口|明细|存折|存单|结单|纪录|交易|存款|贷款|信用卡|卡|工资|粮|钱|对账单|记录|"
         "statements?|balances?|accounts?|acct|a/c|transactions?|txns?|cards?|loans?|salary|"
         "deposits?|history|details|records|money|funds|payments|stmts?|bal")
_ASCII = "(?<![a-z]){}(?![a-z])"
_OTHER_ZH = re.compile(f"(?:{_KIN}|{_ASCII.format('(?:' + _REL + ')')})(?:的)?"
                       f"[^,.?!;，。？！；]{{0,6}}?{_ASCII.format('(?:' + _DATA + ')')}")
_OTHER_EN = re.compile(
    rf"(?:\b(?:his|her|their|my|a|the|an|your)\s+(?:{_REL})(?:'s|s'|s)?|\b(?:{_REL})(?:'s|s'))"
    rf"(?:\s+[\w&/-]+){{0,3}}?\s+(?:{_DATA})\b")


def about_other_person(text: str, prepared: str | None = None) -> bool:
    """True when a question asks about someone else's account, statement or balance
    (`prepared`: `prepare(text)`, if already at hand)."""
    if _OTHER_EN.search(normalise(text)):  # before folding: it drops the "'s"
        return True
    folded = prepare(text) if prepared is None else prepared
    return bool(_OTHER_ZH.search(re.sub(r"(?<=[^\x00-\x7f])\s+(?=[^\x00-\x7f])", "", folded)))


@dataclass(frozen=True)
class Model:
    """Logistic weights by feature name, and the thresholds calibrated with them."""

    weights: Mapping[str, float]
    bias: float
    confident: float
    plausible: float


def candidates(words: Words | None, klass: np.ndarray | None) -> np.ndarray:
    """Card indices worth scoring: best by BM25 (matched at all), best by the classifier."""
    picked: list[np.ndarray] = []
    if words is not None:
        top = np.argsort(-words.bm25, kind="stable")[:CANDIDATES]
        picked.append(top[words.bm25[top] > 0])
    if klass is not None:
        picked.append(np.argsort(-klass, kind="stable")[:CANDIDATES])
    return np.unique(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


def features(cards: np.ndarray, words: Words | None, meaning: Meaning | None,
             others: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every feature of every candidate, by name; `others`: per candidate, the share of
    its questions about another person's data when the question is about one (else 0)."""
    k = len(cards)
    out: dict[str, np.ndarray] = {"others": np.zeros(k) if others is None else others}
    if words is not None:
        best = float(words.bm25[cards].max()) or 1.0
        rel = words.bm25[cards] / best
        wc, wp, wr = BASE
        base = wc * words.coverage[cards] + wp * words.phrase[cards] + wr * rel
        out |= {"coverage": words.coverage[cards], "phrase": words.phrase[cards],
                "matched": words.matched[cards], "unknown": np.full(k, words.unknown),
                "length": np.full(k, words.length), "lead": _lead(base), "relative": rel}
    else:
        out |= {name: np.zeros(k) for name in ("coverage", "phrase", "matched", "lead",
                                               "relative", "length")}
        out["unknown"] = np.ones(k)
    if meaning is not None:
        out |= {"near": meaning.near, "klass": meaning.klass,
                "near_lead": _lead(meaning.near), "klass_lead": _lead(meaning.klass)}
    return out


def probabilities(model: Model, feats: Mapping[str, np.ndarray], k: int) -> np.ndarray:
    z = np.full(k, model.bias)
    for name, w in model.weights.items():
        if name in feats:  # weights of the other mode's features count as 0
            z += w * feats[name]
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def _lead(x: np.ndarray) -> np.ndarray:
    """Each candidate's value minus the best of the others'."""
    if len(x) < 2:
        return x.astype(np.float64)
    order = np.argsort(-x, kind="stable")
    best, second = x[order[0]], x[order[1]]
    lead = x - best
    lead[order[0]] = best - second
    return lead.astype(np.float64)


def third_party_share(questions: Sequence[Sequence[tuple[str, str]]]) -> np.ndarray:
    """Per card, the share of its questions (each with its `prepare`d form) that ask
    about another person's data."""
    return np.array([sum(about_other_person(q, p) for q, p in qs) / len(qs) if qs else 0.0
                     for qs in questions])


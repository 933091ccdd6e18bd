"""Terms: what the index and a query are made of.

Text is normalised (NFKC, case, traditional -> simplified), Cantonese and chat
shorthand are folded to the words the cards use, then split into CJK unigrams and
bigrams and English word stems; `index_terms` makes the postings of a whole
knowledge base from the same rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bot.text import CJK, clean, normalise, to_simplified

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
    # more Hong Kong forms met in use (blind set 2, half a): money moves, people, devices
    "过数": "转账", "过错数": "转错账", "转错数": "转错账", "追返": "追回", "拎返": "拿回",
    "攞返": "拿回", "拿返": "拿回", "退返": "退回", "揾返": "找回", "返嚟": "回来",
    "返来": "回来", "屋企": "家", "啱啱": "刚刚", "老细": "老板", "出粮": "发工资",
    "粮": "工资", "碌卡": "刷卡", "碌": "刷", "揿钱": "取钱", "揿": "按", "𠮶": "那",
    "呢个": "这个", "呢排": "最近", "呢度": "这里", "呢张": "这张", "呢只": "这只",
    "呢种": "这种", "呢笔": "这笔", "呢位": "这位", "呢间": "这间", "差佬": "警察",
    "呃": "骗", "晕低": "晕倒", "返工": "上班", "几时": "什么时候", "边间": "哪间",
    "散纸": "零钱", "港纸": "港币", "假银纸": "假钞", "银纸": "钞票", "即刻": "马上",
    "加埋": "加上", "唔见": "丢失", "话俾": "告诉", "帮手": "帮忙", "几钱": "多少钱",
    "登入": "登录", "户口": "账户", "户口本": "户口本", "户口簿": "户口簿", "短讯": "短信",
    "电邮": "邮件", "咭": "卡", "谂": "想", "点知": "怎么知道", "点办": "怎么办",
    "点做": "怎么做", "点处理": "怎么处理", "我哋": "我们", "你哋": "你们", "哋": "们",
    "系唔系": "是不是", "仲有": "还有", "仲要": "还要", "仲未": "还没", "嬲": "生气",
    "闹人": "骂人", "排长龙": "排长队", "供楼": "还房贷", "按揭": "房贷",
    # 個客 is "the customer"; 係 is 系 after OpenCC, "是" only in these spots
    "个客户": "个客户", "个客人": "个客户", "个客": "客户", "佢系": "他是", "我系": "我是",
    "唔系": "不是", "都系": "都是", "就系": "就是", "真系": "真是",
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
    "btwn": "between", "w/o": "without", "cos": "because", "coz": "because",
    "req": "request", "approx": "approximately", "mgmt": "management", "dept": "department",
    "hq": "head office", "ho": "head office", "pic": "photo", "pwds": "passwords",
    "asap": "immediately", "r u": "are you", "kinda": "kind of", "wats": "what is",
    "whats": "what is", "hw": "how", "nd": "and", "bcuz": "because", "yr": "year", "yrs": "years",
    "mth": "month", "mths": "months", "wk": "week", "2day": "today", "ystd": "yesterday",
    "cx": "customer", "stmt": "statement", "stmts": "statements", "wd": "withdrawal",
    "w/d": "withdrawal", "dep": "deposit", "deps": "deposits", "cc": "credit card",
    "dc": "debit card", "fd": "fixed deposit", "td": "time deposit", "rm": "relationship manager",
    "mob": "mobile", "addr": "address", "prob": "problem", "probs": "problems",
    "bcoz": "because", "becoz": "because", "idk": "do not know", "netbanking": "online banking",
    "ebanking": "online banking", "mbanking": "mobile banking", "biz": "business",
    # plain synonyms, folded on both sides (cards and questions)
    "wire": "transfer", "wired": "transfer", "remit": "transfer", "remittance": "transfer",
    "cops": "police", "mad": "angry", "furious": "angry", "upset": "angry",
    "yelling": "shouting", "screaming": "shouting", "passcode": "password",
    "boss": "supervisor", "scammer": "scam", "scammers": "scam", "fraudster": "scam",
    "fraudsters": "scam", "hacked": "stolen", "journalist": "reporter",
    "journalists": "reporter", "complain": "complaint", "complains": "complaint",
    "complained": "complaint", "complaining": "complaint",
    "txns": "transactions", "trxs": "transactions", "accts": "accounts", "accs": "accounts",
    "thru": "through", "sth": "something", "smth": "something", "pymt": "payment",
    "pmt": "payment", "rcvd": "received", "recvd": "received", "lmt": "limit",
    "chg": "charge", "chgs": "charges", "chrg": "charge", "mins": "minutes", "hrs": "hours",
    "gotta": "have to", "lemme": "let me", "tho": "though", "chq": "cheque",
    "shd": "should", "smn": "someone", "appt": "appointment", "btw": "between",
    "askd": "asked", "keyd": "keyed", "thn": "than", "calc": "calculate",
    "calcd": "calculated", "aprovd": "approved", "approvd": "approved", "discnt": "discount",
    "sumthin": "something", "somethin": "something", "evrythin": "everything",
    "nothin": "nothing", "supposd": "supposed", "hav": "have", "std": "standard", "lol": "",
    "yu": "you", "bday": "birthday", "cny": "chinese new year", "wmp": "wealth management product",
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
# A shorthand is a whole run of [a-z0-9/&], or "r u" (the only one with a space): a pattern
# led by a character class runs far faster than one alternative per shorthand.
_RUN_RE = re.compile(r"[a-z0-9/&]+(?: u(?![a-z0-9/&]))?")
_DIALECT_RE = re.compile("|".join(map(re.escape, sorted(DIALECT, key=len, reverse=True))))
# Cantonese 點 + a verb is "how to" (點同佢講, 應該點問); not after what makes 点 a dot, a
# place or "a bit" in Mandarin (网点, 重点, 快点回来, 一点)
_HOW_RE = re.compile("(?<![网重地钟景特观优缺焦热亮终起盲节据站单餐要一有几差快慢多少早晚好些大小高低"
                     "强弱远近轻看试])点(?=[同问教讲搞帮劝计补回搭改做写填答应说])")


@lru_cache(maxsize=65536)  # bounded: queries bring new words forever
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


def _unfold(m: re.Match[str]) -> str:
    run = m.group(0)
    if run in SHORTHAND:
        return SHORTHAND[run]
    if run.endswith(" u"):  # not "r u": the run, then "u" alone
        run = run[:-2]
        return f"{SHORTHAND.get(run, run)} {SHORTHAND['u']}"
    return run


def _fold(text: str) -> str:
    """Dialect and shorthand of normalised text folded to the words the cards use."""
    text = _HOW_RE.sub("怎么", _DIALECT_RE.sub(lambda m: DIALECT[m.group(0)], text))
    return _RUN_RE.sub(_unfold, text.replace("'s ", " "))


def prepare(text: str) -> str:
    """Normalised text with dialect and shorthand folded; shared by index and query."""
    return _fold(normalise(text))


def prepare_many(texts: list[str]) -> list[str]:
    """`[prepare(t) for t in texts]`, with one OpenCC call and one pass of each pattern:
    cleaned texts have no line breaks, and no conversion or pattern spans one."""
    if not texts:
        return []
    out = _fold(to_simplified("\n".join(map(clean, texts)).casefold())).split("\n")
    return out if len(out) == len(texts) else [prepare(t) for t in texts]


_UNIGRAM = re.compile(f"[{CJK}]")
_BIGRAM = re.compile(f"(?=([{CJK}]{{2}}))")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokens(text: str, drop_filler: bool = True) -> list[str]:
    """CJK unigrams + bigrams and English stems of already `prepare`d text.

    The definition of a text's terms, for the cards and for queries alike.
    """
    if drop_filler:
        text = _ZH_FILLER_RE.sub(" ", text)
    words = _WORD.findall(text)
    if drop_filler:
        words = [w for w in words if w not in EN_STOP]
    stems = [stem(w) for w in words]
    return _UNIGRAM.findall(text) + _BIGRAM.findall(text) + stems


@dataclass(frozen=True)
class Postings:
    """A CSR matrix: row t (a term id) is documents docs[ptr[t]:ptr[t + 1]], ascending,
    with weights (summed field weights; for phrases 1)."""

    ptr: np.ndarray
    docs: np.ndarray
    weights: np.ndarray


def index_terms(prepared: list[str], doc: np.ndarray, weight: np.ndarray, phrase: np.ndarray,
                vocab: dict[str, int]) -> tuple[Postings, Postings]:
    """Postings by term of texts (already `prepare`d): text i counts for document doc[i]
    with weight weight[i], and is phrase phrase[i] (-1 for none), whose terms drop fillers
    and stop words. New terms are added to vocab; both matrices have a row for every term
    of it."""
    # per text one C-level extend; terms become ids in bulk below (millions at 2,000 cards)
    d_terms: list[str] = []
    d_sizes: list[int] = []
    p_terms: list[str] = []
    p_sizes: list[int] = []
    p_texts = np.flatnonzero(phrase >= 0)
    for text in prepared:
        found = tokens(text, drop_filler=False)
        d_terms += found
        d_sizes.append(len(found))
    for i in p_texts.tolist():
        found = list(dict.fromkeys(tokens(prepared[i])))  # a phrase counts a term once
        p_terms += found
        p_sizes.append(len(found))
    for term in dict.fromkeys(d_terms + p_terms):
        vocab.setdefault(term, len(vocab))
    d_ids = np.fromiter(map(vocab.__getitem__, d_terms), dtype=np.int64, count=len(d_terms))
    p_ids = np.fromiter(map(vocab.__getitem__, p_terms), dtype=np.int64, count=len(p_terms))
    sizes = np.array(d_sizes, dtype=np.int64)
    cards = _csr(d_ids, np.repeat(doc.astype(np.int64), sizes),
                 np.repeat(weight.astype(np.float32), sizes), len(vocab))
    phrases = _csr(p_ids, np.repeat(phrase[p_texts].astype(np.int64), p_sizes),
                   np.ones(len(p_ids), dtype=np.float32), len(vocab))
    return cards, phrases


def _csr(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, n_rows: int) -> Postings:
    """Entries (row, col, weight) as CSR, repeats of a (row, col) summed."""
    width = int(cols.max()) + 1 if len(cols) else 1
    keys, where = np.unique(rows * width + cols, return_inverse=True)
    summed = np.bincount(where, weights=weights, minlength=len(keys)).astype(np.float32)
    ptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // width, minlength=n_rows), out=ptr[1:])
    return Postings(ptr, (keys % width).astype(np.int32), summed)


def bm25(p: Postings, n_docs: int, k1: float, b: float) -> Postings:
    """BM25 term weights from summed field weights (tf); a document's length is the sum
    of its weights."""
    lengths = np.bincount(p.docs, weights=p.weights, minlength=n_docs)
    avg = float(lengths.mean()) if n_docs else 1.0
    norm = k1 * (1 - b + b * lengths[p.docs] / (avg or 1.0))
    tf = p.weights.astype(np.float64)
    return Postings(p.ptr, p.docs, (tf * (k1 + 1) / (tf + norm)).astype(np.float32))


def column_sums(p: Postings, row_weight: np.ndarray, n_docs: int) -> np.ndarray:
    """Per document, the sum of row_weight[t] over the rows t it is in."""
    rows = np.repeat(np.arange(len(p.ptr) - 1), np.diff(p.ptr))
    return np.bincount(p.docs, weights=row_weight[rows], minlength=n_docs)

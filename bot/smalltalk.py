"""Small talk: thanks, greetings, "ok", goodbyes — in zh-Hans, zh-Hant, Cantonese and English.

A message is small talk only when nothing else is in it ("好的，谢谢" is; "thanks,
and the fee dispute?" is not). Such a message is no question: it gets a short
friendly reply in the person's language and is never recorded as a knowledge gap.
"""

from __future__ import annotations

import re

from bot.models import Lang
from bot.text import has_cjk, is_traditional, normalise

# kind -> phrases, after `normalise` (simplified, lower case); longest are tried first
PHRASES = {
    "thanks": ("谢谢", "谢谢你", "谢谢您", "谢谢啦", "谢啦", "谢了", "多谢", "多谢晒", "多谢你", "唔该",
               "唔该晒", "感谢", "感谢你", "非常感谢", "辛苦了", "辛苦晒", "辛苦你了", "麻烦你了",
               "3q", "thx", "thks", "tks", "ty", "tq", "thanks", "thank you", "thank u", "thankyou",
               "thanks a lot", "thanks so much", "many thanks", "cheers", "much appreciated",
               "appreciate it", "great thanks"),
    "greeting": ("你好", "您好", "早", "早上好", "早安", "早晨", "午安", "中午好", "下午好", "晚上好",
                 "哈喽", "嗨", "在吗", "在不在", "hi", "hello", "hey", "hiya", "good morning",
                 "morning", "good afternoon", "good evening", "hi there", "hello there", "yo"),
    "bye": ("再见", "拜拜", "拜", "88", "下次见", "晚安", "先走了", "走了", "bye", "bye bye", "byebye",
            "goodbye", "see you", "see ya", "cya", "good night", "gn", "later", "see you tomorrow"),
    "ok": ("好", "好的", "好嘅", "好滴", "好哒", "好吧", "好啊", "嗯", "嗯嗯", "哦", "噢", "收到", "明白",
           "明白了", "明白晒", "知道了", "知道", "了解", "懂了", "没问题", "冇问题", "行", "可以", "ok",
           "okay", "okk", "k", "kk", "got it", "noted", "understood", "roger", "sure", "alright",
           "all right", "fine", "cool", "great", "perfect", "nice", "i see", "will do"),
}
PRIORITY = ("thanks", "bye", "greeting", "ok")  # "ok thanks" is thanks
# Cantonese words that set the reply's dialect
CANTONESE = ("唔该", "多谢晒", "早晨", "好嘅", "冇问题", "辛苦晒", "明白晒", "唔", "嘅", "咗")
_FILLER = re.compile(r"[\s\W_]+|[啊呀啦哈喔噢哦嘛咯呢吧嗯哒]+$|[\U0001F300-\U0001FAFF\u2600-\u27BF]+")
_SPLIT = re.compile("|".join(sorted((re.escape(p) for ps in PHRASES.values() for p in ps),
                                    key=len, reverse=True)))
_KIND = {p: kind for kind in reversed(PRIORITY) for p in PHRASES[kind]}
_EMOJI_OK = frozenset("👍👌🙏🙂😊✅💪🤝👋")

REPLIES = {
    "thanks": {"en": "You're welcome! Ask me any time.", "zh-Hans": "不客气，有问题随时问我。",
               "zh-Hant": "不客氣，有問題隨時問我。", "yue": "唔使客氣，有嘢隨時問我。"},
    "greeting": {"en": "Hello! Type your question, or /drill for a quick quiz.",
                 "zh-Hans": "你好！直接打出你的问题，或发 /drill 做个小测验。",
                 "zh-Hant": "你好！直接打出你的問題，或發 /drill 做個小測驗。",
                 "yue": "你好！有咩問題直接打，或者發 /drill 做個小測驗。"},
    "bye": {"en": "Bye, have a good shift!", "zh-Hans": "再见，工作顺利！",
            "zh-Hant": "再見，工作順利！", "yue": "拜拜，返工順利！"},
    "ok": {"en": "👍 Ask me any time.", "zh-Hans": "👍 有问题随时问我。",
           "zh-Hant": "👍 有問題隨時問我。", "yue": "👍 有嘢隨時問我。"},
}


def smalltalk(text: str) -> str:
    """The kind of small talk ("thanks", "greeting", "bye", "ok") the whole message is, or ""."""
    folded = normalise(text)
    if not folded:
        return ""
    if all(ch in _EMOJI_OK or ch.isspace() for ch in folded):
        return "ok"
    kinds: set[str] = set()
    rest = _SPLIT.sub(lambda m: kinds.add(_KIND[m.group(0)]) or " ", folded)  # type: ignore[func-returns-value]
    # a phrase inside a word ("hi" in "this") is no phrase: English must stand alone
    if not kinds or re.search(r"[a-z0-9]", rest) and _broken_words(folded):
        return ""
    if _FILLER.sub("", rest):
        return ""
    return next(k for k in PRIORITY if k in kinds)


def _broken_words(folded: str) -> bool:
    """True when some English word is not made of whole small-talk phrases."""
    words = re.findall(r"[a-z0-9]+", folded)
    english = [p for k in PHRASES for p in PHRASES[k] if p.isascii()]
    joined = " ".join(words)
    for phrase in sorted(english, key=len, reverse=True):
        joined = re.sub(rf"\b{re.escape(phrase)}\b", " ", joined)
    return bool(joined.strip())


def language(text: str) -> str:
    """"en", "zh-Hans", "zh-Hant" or "yue" (Cantonese), for the reply."""
    if not has_cjk(text):
        return "en"
    folded = normalise(text)
    if any(word in folded for word in CANTONESE):
        return "yue"
    return "zh-Hant" if is_traditional(text) else "zh-Hans"


def reply(text: str, chosen: Lang | None = None) -> str | None:
    """A short friendly answer to small talk, in the language the person chose (`/lang`)
    or else the one they wrote in; None if it is not small talk."""
    kind = smalltalk(text)
    if not kind:
        return None
    written = language(text)
    if chosen is Lang.EN:
        written = "en"
    elif chosen is Lang.ZH:
        written = "zh-Hans"
    elif chosen is not None and written not in ("zh-Hant", "yue"):
        written = "zh-Hant"
    return REPLIES[kind][written]

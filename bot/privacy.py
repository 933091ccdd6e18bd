"""Finding and masking customer data in free text before it is stored or logged.

Numbers are found by their digits, not by how they are written: a run of digits
(ASCII, full-width, Chinese numerals) joined by anything a person types between
groups (spaces, dots, slashes, dashes, underscores, soft hyphens, zero-width
characters, a line break) is judged on the joined digits — a Luhn-valid card, an
ID number with its check character, a mainland mobile — whatever the group sizes.
The "long account number" rule only joins groups of three or more digits, so
dates, times and money stay readable. Secrets after a keyword (PIN, password),
passports, Hong Kong and Taiwan IDs and travel permits are masked whole; a
customer's name after a word that introduces it ("户名", "name is", "Mr") keeps only
its first character or surname.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

_ZH_DIGITS = "〇零一二三四五六七八九"
_TO_ASCII = str.maketrans(_ZH_DIGITS, "00123456789")
_D = f"[0-9{_ZH_DIGITS}]"
# what people type between digit groups (NFKC has already made full-width ones ASCII)
_SEP = r"[ .\/_\-\u2010-\u2015\u2212·\u00ad\u200b-\u200d\u2060\ufeff\n\t]"
_RUN = re.compile(rf"(?<![0-9{_ZH_DIGITS}]){_D}+(?:{_SEP}{{1,3}}{_D}+)*(?:{_SEP}?[Xx](?![A-Za-z]))?")
_GROUPS = re.compile(_D + "+")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_ACCOUNT_WORD = re.compile(r"(账户|账号|帐户|帐号|卡号|户口|account|acct|a/c)\W{0,3}$", re.I)
# a secret after its keyword, the whole value: one with a digit in it, or any after an
# explicit "is" ("密码是多少" and "password reset" stay: they are questions, not secrets)
_KEY = r"((?:取款|支付|交易|查询|登录|网银)?密码|口令|(?<![a-z])(?:pin|password|pwd|passcode)(?![a-z]))"
_VALUE = r"[A-Za-z0-9!@#$%^&*._+=-]"
_SECRET = re.compile(rf"{_KEY}(\s*(?:码\s*)?(?:是|为|:|=|is\b)?\s*)({_VALUE}*\d{_VALUE}*)", re.I)
_SECRET_SAID = re.compile(rf"{_KEY}(\s*(?:是|为|:|=|is\b)\s*)({_VALUE}{{3,}})", re.I)
_NO = r"([^A-Za-z0-9]{0,8}(?:no\.?|number|num|#)?[^A-Za-z0-9]{0,4})"
_PASSPORT = re.compile(rf"(护照|passport){_NO}([A-Za-z]{{1,2}}\d{{7,8}})", re.I)
_PERMIT = re.compile(rf"(通行证|回乡证|台胞证|permit){_NO}([A-Za-z]?\d{{8,10}})", re.I)
_HK_ID = re.compile(r"(?<![A-Za-z0-9])[A-Z]{1,2}\d{6}\s?\(\s?[0-9A]\s?\)")
_TW_ID = re.compile(r"(?<![A-Za-z0-9])[A-Z][12]\d{8}(?!\d)")
# A name after a word that introduces one; the surname (first character or word) is kept.
# Chinese: only a run that starts with a common surname, so "名字写错了" stays a question.
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
             "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
             "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤欧区")
_NAME_ZH = re.compile(rf"(姓名|名字|户名|名叫|叫做|(?:客户|客人|顾客|户主|对方|老人|他|她)叫)"
                      rf"(\s*[：:是为叫]?\s*)([{_SURNAMES}][\u4e00-\u9fff]{{1,2}})")
_NAME_EN = re.compile(r"(?<![A-Za-z])((?:[Nn]ame(?:d| is|:))|(?:Mr|Mrs|Ms|Miss|MR|MRS|MS)\.?)"
                      r"(\s+)([A-Z][a-z]+(?:[ -][A-Z][a-z]+)?)")
_EPOCH = range(1_000_000_000, 4_102_444_800)  # 2001-2100, in seconds (or ms / 1000)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def id_number_ok(value: str) -> bool:
    """PRC resident identity number: 17 digits and a valid check character."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17].upper()


def _keep(value: str, head: int, tail: int) -> str:
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


def _judge(raw: str, after_account_word: bool) -> str | None:
    """The masked form of a digit run, or None to leave it as written."""
    groups = [g.translate(_TO_ASCII) for g in _GROUPS.findall(raw)]
    digits = "".join(groups)
    check = raw[-1].upper() if raw[-1] in "Xx" else ""
    if len(digits) < 6 or (not raw[0].isascii() and len(digits) < 8):
        return None  # short numbers; a few Chinese numerals are words (一二三)
    if check or len(digits) == 18:
        value = digits + check
        if len(value) == 18 and id_number_ok(value):
            return _keep(value, 6, 4)
    if 13 <= len(digits) <= 19 and luhn_ok(digits):
        return _keep(digits, 6, 4)
    if _MOBILE.match(digits):
        return _keep(digits, 3, 4)
    if len(groups) >= 3 and len(groups[0]) == 4 and groups[0][:2] in ("19", "20") and \
            len(groups[1]) <= 2 and len(groups[2]) <= 2:
        return None  # a date, perhaps with a time or another date after it
    long_groups = all(len(g) >= 3 for g in groups)
    if len(digits) >= 10 and (long_groups or after_account_word):
        plain = len(groups) == 1
        if plain and not after_account_word and (
                int(digits) in _EPOCH or len(digits) == 13 and int(digits) // 1000 in _EPOCH):
            return None  # a Unix time in a log line, not an account
        return _keep(digits + check, 0, 4) if not check else "*" * (len(digits) + 1)
    if after_account_word and len(digits) >= 8:
        return _keep(digits, 0, 4)
    return None


def _mask_runs(text: str) -> str:
    out: list[str] = []
    last = 0
    for m in _RUN.finditer(text):
        raw = m.group(0)
        masked = _judge(raw, bool(_ACCOUNT_WORD.search(text[max(0, m.start() - 12):m.start()])))
        out.append(text[last:m.start()])
        out.append(raw if masked is None else masked)
        last = m.start() + len(raw)
    out.append(text[last:])
    return "".join(out)


def _stars(m: re.Match[str]) -> str:
    return m.group(1) + m.group(2) + "*" * len(m.group(3))


def _initial(m: re.Match[str]) -> str:
    name = m.group(3)
    return m.group(1) + m.group(2) + name[0] + "".join(c if c in " -" else "*" for c in name[1:])


def mask(text: str) -> str:
    """The text with customer numbers, secrets, names and e-mail addresses masked."""
    text = unicodedata.normalize("NFKC", text)
    while True:  # until stable: chained addresses ("a@b.cc@d.ee") need a second pass
        masked = _EMAIL.sub(lambda m: m.group(0)[0] + "***@" + m.group(0).split("@")[1], text)
        if masked == text:
            break
        text = masked
    for pattern in (_SECRET, _SECRET_SAID, _PASSPORT, _PERMIT):
        text = pattern.sub(_stars, text)
    for pattern in (_NAME_ZH, _NAME_EN):
        text = pattern.sub(_initial, text)
    text = _HK_ID.sub(lambda m: m.group(0)[0] + "*" * (len(m.group(0)) - 1), text)
    text = _TW_ID.sub(lambda m: m.group(0)[0] + "*" * 9, text)
    return _mask_runs(text)


def pseudonym(user_id: int, key: bytes) -> str:
    """A keyed hash of a Telegram id (HMAC-SHA256): without the key the id cannot be read
    back, nor found by hashing every possible id."""
    return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()[:32]


def has_customer_data(text: str) -> bool:
    return mask(text) != unicodedata.normalize("NFKC", text)

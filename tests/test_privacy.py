"""Masking customer data: property tests (hypothesis) and examples."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot import privacy
from bot.privacy import has_customer_data, id_number_ok, luhn_ok, mask
from tests.conftest import Chat

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
PROPS = settings(max_examples=200, deadline=None)
NOT_DIGITS: tuple[Literal["Nd"], ...] = ("Nd",)


# --- independent reference implementations ---------------------------------------------------


def luhn_check_digit(payload: str) -> str:
    """The digit that makes payload + digit pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # these get doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def id_check_char(body: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in text)


def cleaned(text: str) -> str:
    """What a reader could piece together: NFKC with spaces and dashes dropped."""
    return re.sub(r"[ \-]", "", unicodedata.normalize("NFKC", text))


# --- strategies --------------------------------------------------------------------------------

digit_strings = st.lists(st.sampled_from("0123456789"), min_size=1).map("".join)


@st.composite
def luhn_numbers(draw: st.DrawFn) -> str:
    payload = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=15, max_size=15)))
    return payload + luhn_check_digit(payload)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    body = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=17, max_size=17)))
    return body + id_check_char(body)


SEPARATORS = st.sampled_from([" ", "-", "\u00a0", "\u3000", "\uff0d"])  # NFKC: space / dash


@st.composite
def formatted(draw: st.DrawFn, number: str) -> str:
    text = number
    if draw(st.booleans()):
        sep = draw(SEPARATORS)
        text = sep.join(number[i:i + 4] for i in range(0, len(number), 4))
    if draw(st.booleans()):
        text = full_width(text)
    return text


no_digits = st.text(alphabet=st.characters(blacklist_categories=NOT_DIGITS), max_size=30)
chinese = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=10),
    st.sampled_from(["客户卡号", "卡号：", "请核对身份证号码", "，谢谢。", "转账到", "（尾号）", ""]),
)
surrounding = st.lists(st.one_of(no_digits, chinese), max_size=3).map("".join)


# --- properties --------------------------------------------------------------------------------


@PROPS
@given(number=luhn_numbers(), data=st.data(), before=surrounding, after=surrounding)
def test_no_luhn_valid_card_number_survives(number: str, data: st.DataObject, before: str,
                                             after: str) -> None:
    assert luhn_ok(number)
    text = before + data.draw(formatted(number)) + after
    masked = mask(text)
    assert number not in cleaned(masked)
    assert has_customer_data(text)


@PROPS
@given(number=id_numbers(), data=st.data(), before=surrounding, after=surrounding)
def test_no_valid_id_number_survives(number: str, data: st.DataObject, before: str,
                                     after: str) -> None:
    assert id_number_ok(number)
    id_text = number if not data.draw(st.booleans()) else full_width(number)
    if number.endswith("X") and data.draw(st.booleans()):
        id_text = id_text[:-1] + "x"
    text = before + id_text + after
    masked = mask(text)
    assert number[:17] not in cleaned(masked)
    assert has_customer_data(text)


def _no_at(ch: str) -> bool:
    return "@" not in unicodedata.normalize("NFKC", ch)


def _no_name(text: str) -> bool:
    """No word that introduces a name ("户名", "Mr"): such a name is masked too."""
    text = unicodedata.normalize("NFKC", text)
    return not (privacy._NAME_ZH.search(text) or privacy._NAME_EN.search(text))


digit_heavy = st.text(
    alphabet=st.one_of(
        st.characters().filter(_no_at),
        st.sampled_from("0123456789０１２３４５６７８９ -xX\u00a0\u3000－:.元号"),
    ),
    max_size=60,
)


@PROPS
@given(text=digit_heavy)
def test_mask_is_idempotent(text: str) -> None:
    once = mask(text)
    assert mask(once) == once


@PROPS
@given(before=digit_heavy, number=st.one_of(luhn_numbers(), id_numbers()), after=digit_heavy)
def test_mask_is_idempotent_around_numbers(before: str, number: str, after: str) -> None:
    once = mask(before + number + after)
    assert mask(once) == once


local_parts = st.from_regex(r"[A-Za-z0-9._%+-]{1,12}", fullmatch=True)
domains = st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,2}\.[a-z]{2,4}", fullmatch=True)


@PROPS
@given(local=local_parts, domain=domains, before=surrounding, after=surrounding)
def test_emails_masked_and_idempotent(local: str, domain: str, before: str, after: str) -> None:
    address = f"{local}@{domain}"
    text = f"{before} {address} {after}"
    once = mask(text)
    assert f"{local[0]}***@{domain}" in once
    if len(local) > 1:
        assert address not in once
    assert mask(once) == once


any_text = st.text(alphabet=st.one_of(st.characters(), st.sampled_from("0123456789 -xX@.*_+%ab")),
                   max_size=30)


@PROPS
@example(local="john", domain="x.com", before="**", after="**")
@given(local=local_parts, domain=domains, before=any_text, after=any_text)
def test_no_email_address_survives(local: str, domain: str, before: str, after: str) -> None:
    address = f"{local}@{domain}"
    assert address not in mask(before + address + after)


@pytest.mark.parametrize(("text", "address"), [
    ("**john.doe@example.com**", "john.doe@example.com"),
    ("*john@x.com", "john@x.com"),
    ("x@y.com-zhang@w.com", "zhang@w.com"),
    ("@john@x.com", "john@x.com"),
])
def test_email_after_markup_is_masked(text: str, address: str) -> None:
    assert address not in mask(text)


@PROPS
@given(text=st.text(alphabet=st.characters(blacklist_categories=NOT_DIGITS).filter(_no_at),
                    max_size=60).filter(_no_name))
def test_text_without_digits_or_at_is_only_normalised(text: str) -> None:
    assert mask(text) == unicodedata.normalize("NFKC", text)
    assert not has_customer_data(text)


@PROPS
@given(number=st.integers(min_value=0, max_value=999_999_999))
def test_numbers_under_ten_digits_untouched(number: int) -> None:
    text = f"金额 {number} 元"
    assert mask(text) == text


# --- examples ----------------------------------------------------------------------------------

CARD = "622202123456789" + luhn_check_digit("622202123456789")
CARD19 = "621483012345678901" + luhn_check_digit("621483012345678901")
ID = "11010519491231002X"  # the GB 11643 sample number
ID_DIGIT = "44030419900101123" + id_check_char("44030419900101123")


def test_example_numbers_are_valid() -> None:
    assert luhn_ok(CARD) and len(CARD) == 16
    assert luhn_ok(CARD19) and len(CARD19) == 19
    assert id_number_ok(ID) and id_number_ok(ID_DIGIT)
    assert ID_DIGIT[-1].isdigit()
    assert not id_number_ok(ID[:-1] + "1")


@pytest.mark.parametrize("text", [
    CARD,
    " ".join(CARD[i:i + 4] for i in range(0, 16, 4)),
    "-".join(CARD[i:i + 4] for i in range(0, 16, 4)),
    full_width(CARD),
])
def test_card_keeps_first_six_and_last_four(text: str) -> None:
    # full-width punctuation comes back NFKC-normalised
    assert mask(f"卡号：{text}，请核对") == f"卡号:{CARD[:6]}******{CARD[-4:]},请核对"


def test_nineteen_digit_card() -> None:
    assert mask(CARD19) == CARD19[:6] + "*" * 9 + CARD19[-4:]


@pytest.mark.parametrize("number", [ID, ID.lower(), ID_DIGIT])
def test_id_keeps_first_six_and_last_four(number: str) -> None:
    assert mask(f"身份证 {number} 已核对") == f"身份证 {number[:6]}{'*' * 8}{number[-4:].upper()} 已核对"


def test_id_with_full_width_digits() -> None:
    assert mask(full_width(ID)) == ID[:6] + "*" * 8 + ID[-4:]


@pytest.mark.parametrize("text", ["13812345678", "138 1234 5678", "138-1234-5678",
                                  "１３８１２３４５６７８"])
def test_mobile(text: str) -> None:
    assert mask(f"电话{text}。") == "电话138****5678。"


def test_email_masked() -> None:
    masked = mask("请发到 zhang.san@example.com 谢谢")
    assert masked == "请发到 z***@example.com 谢谢"
    assert "zhang.san" not in masked
    assert mask("QQ邮箱 12345678901@qq.com") == "QQ邮箱 1***@qq.com"


@pytest.mark.parametrize(("text", "expected"), [
    ("账户 1234567890 余额", "账户 ******7890 余额"),
    ("账号：6214 8301 2345", "账号:********2345"),
    ("对公账户 110123456789012345678901", "对公账户 " + "*" * 20 + "8901"),
    ("非卢恩卡 1234567812345678", "非卢恩卡 " + "*" * 12 + "5678"),  # not Luhn-valid
    ("身份证错号 110105194912310021", "身份证错号 " + "*" * 14 + "0021"),  # bad check digit
])
def test_long_account_runs_masked(text: str, expected: str) -> None:
    assert not luhn_ok("1234567812345678")
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "100元", "转账 100 元", "¥1,000,000.00", "2026-11-28", "2026年11月28日", "10:30",
    "下午 3:45 到 17:00", "第3号窗口", "123456789", "尾号 5678", "2026-11-28 至 2026-12-05",
    "Room 1205, floor 12",
])
def test_short_numbers_dates_and_times_untouched(text: str) -> None:
    assert mask(text) == text
    assert not has_customer_data(text)


def test_has_customer_data() -> None:
    assert has_customer_data(f"客户卡号 {CARD}")
    assert has_customer_data(f"ID {ID}")
    assert has_customer_data("call 13812345678")
    assert has_customer_data("mail a.b@c.cn")
    assert has_customer_data("账户 1234567890")
    assert not has_customer_data("客户投诉手续费，金额 100元，日期 2026-11-28，10点")
    assert not has_customer_data("ＦＵＬＬ ＷＩＤＴＨ　ｔｅｘｔ １００元")  # only normalised
    assert not has_customer_data("")


def test_mask_normalises_full_width() -> None:
    assert mask("ＡＢＣ　１００元") == "ABC 100元"


# --- gaps found and fixed ------------------------------------------------------------------


@pytest.mark.parametrize("text", [f"No{CARD}", f"ID{ID}", "Tel13812345678",
                                  f"ＩＤ{full_width(ID)}", f"acct{CARD}"])
def test_number_after_latin_letters_is_masked(text: str) -> None:
    assert has_customer_data(text)
    assert mask(text) != unicodedata.normalize("NFKC", text)


@pytest.mark.parametrize("text", ["2026-11-28 10:30", "客户 2026-11-28 14:05 来柜台",
                                  "2026-11-28 100元", "2026-11-28 10点"])
def test_date_followed_by_time_untouched(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize("sep", ["\u2013", "\u2010"])
def test_card_with_typographic_dashes_is_masked(sep: str) -> None:
    text = sep.join(CARD[i:i + 4] for i in range(0, 16, 4))
    assert CARD not in mask(text).replace(sep, "")


def test_mask_idempotent_on_chained_addresses() -> None:
    once = mask("a@b.cc@d.ee")
    assert mask(once) == once


# --- odd shapes (issue: numbers by digits, not by separators) -----------------------------------

MOBILE = "17734170471"
ODD_SHAPES = [
    f"卡号{'.'.join(CARD[i:i + 4] for i in range(0, 16, 4))}",
    " - ".join(CARD[i:i + 4] for i in range(0, 16, 4)),
    "/".join(CARD[i:i + 4] for i in range(0, 16, 4)),
    "_".join(CARD[i:i + 4] for i in range(0, 16, 4)),
    "\u00ad".join(CARD[i:i + 4] for i in range(0, 16, 4)),
    "\u200b".join(CARD[i:i + 4] for i in range(0, 16, 4)),
    "\u3000".join(CARD[i:i + 4] for i in range(0, 16, 4)),
    "·".join(CARD[i:i + 4] for i in range(0, 16, 4)),
    "\n".join(CARD[i:i + 4] for i in range(0, 16, 4)),
    f"{CARD[:3]} {CARD[3:9]} {CARD[9:11]} {CARD[11:]}",  # irregular groups
    "电话 177 34 17 04 71",
    "177.3417.0471",
    "手机 １７７－３４１７－０４７１",
    "客户手机一七七三四一七零四七一",
    f"身份证 {ID[:6]} {ID[6:14]} {ID[14:]}",
]


@pytest.mark.parametrize("text", ODD_SHAPES)
def test_odd_shapes_are_masked(text: str) -> None:
    digits = re.sub(r"\D", "", mask(text))
    for secret in (CARD, MOBILE, ID[:17]):
        assert secret not in digits
    assert has_customer_data(text)


@pytest.mark.parametrize(("text", "gone"), [
    ("客户说密码 123456 被人知道了", "123456"),
    ("取款密码是880512", "880512"),
    ("PIN: 4321", "4321"),
    ("his password is hunter2", "hunter2"),
    ("pwd=Abc12345", "Abc12345"),
    ("护照 E12345678 过期了", "E12345678"),
    ("passport no. G87654321", "G87654321"),
    ("香港身份证 A123456(7)", "123456"),
    ("台湾身份证 A123456789", "123456789"),
    ("港澳通行证 C12345678", "12345678"),
    ("台胞证 12345678", "12345678"),
])
def test_secrets_and_documents_after_keywords(text: str, gone: str) -> None:
    assert gone not in mask(text)


@pytest.mark.parametrize(("text", "masked"), [
    ("户名张三丰要改", "户名张**要改"),
    ("客户姓名：王芳，卡丢了", "客户姓名:王*,卡丢了"),
    ("客户名叫李建国", "客户名叫李**"),
    ("客户叫王建国，卡丢了", "客户叫王**,卡丢了"),
    ("name is John Smith", "name is J*** *****"),
    ("Mr. Wong wants cash", "Mr. W*** wants cash"),
    ("customer named Peter wants a refund", "customer named P**** wants a refund"),
])
def test_a_name_after_a_word_that_introduces_it_keeps_its_first_letter(
        text: str, masked: str) -> None:
    assert mask(text) == masked
    assert has_customer_data(text)


BENIGN = [
    "2026-11-28 10:30", "2026.11.28", "2026/11/28 9:00-17:00", "1,234,567.89 元",
    "营业时间 9:00-17:00", "version 2.3.1", "手续费 0.5%，最高50元", "一共 3 笔，共 12,000 元",
    "工号 E12345", "staff no. 104233", "ts=1765000000", "请在 15 个工作日内答复",
    "客户密码忘了怎么办", "password reset for a customer", "密码是多少位", "PIN码锁了",
    "一二三", "第一二三号窗口", "2026-11-28 至 2026-12-05", "利率 3.45%", "10万元以上",
    "2026-11-28 2026-12-05", "护照过期了怎么办",
    "客户名字写错了", "名字叫什么", "the name is wrong on the card", "户名不一致",
    "客户叫我帮他填单", "老人叫保安过来",
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_text_stays(text: str) -> None:
    assert mask(text) == unicodedata.normalize("NFKC", text)


async def test_an_administrators_team_name_is_stored_and_audited_masked(admin: Chat) -> None:
    """Free text an administrator types is masked like any other (the team name here)."""
    card = "6212 0443 1982 9650"
    assert "621204******9650" in (await admin.say(f"/team add {card.replace(' ', '.')}"))[0].text
    assert "621204******9650" in (await admin.say(f"/invite {card.replace(' ', '')} staff")
                                  )[0].text  # found by what the administrator typed
    store = admin.assistant.store
    stored = [tuple(r) for r in await store.rows("SELECT name FROM teams")]
    audited = " ".join(r[0] for r in await store.rows("SELECT detail FROM audit"))
    invited = [tuple(r) for r in await store.rows("SELECT team FROM invites")]
    assert stored == invited == [("621204******9650",)]
    assert "19829" not in audited and "621204******9650" in audited

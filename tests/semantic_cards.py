"""A tiny card set in real words, for the tests of matching by meaning."""

from __future__ import annotations

from typing import Any

from tests.cards import bi, card


def _q(zh: list[str], en: list[str]) -> dict[str, list[str]]:
    return {"zh": zh, "en": en}


CARDS: list[dict[str, Any]] = [
    card("service.gifts", title=bi("收受客户礼品", "Gifts from customers"), questions=_q(
        ["客户送的礼物能收吗", "客户给红包怎么办", "客户硬塞购物卡给我", "收了客户的东西会怎样"],
        ["can I accept a gift from a customer", "customer offers me money as thanks",
         "a client gives me a present", "is it ok to take a gift card from a customer"])),
    card("service.dress", title=bi("着装与仪容", "Dress code and grooming"), questions=_q(
        ["上班要穿什么", "工牌要戴在哪里", "头发要怎么整理", "可以化浓妆吗"],
        ["what is the dress code at the counter", "can I wear jeans on duty",
         "where does the name badge go", "are sneakers allowed at work"])),
    card("device.statement", section="skills",
         title=bi("自助机打印流水", "Printing a statement at the kiosk"), questions=_q(
             ["客户怎么在自助机打印流水", "流水怎么打印", "自助机打印对账单的步骤", "打印交易明细"],
             ["how does a customer print his statement", "print bank statement at the kiosk",
              "steps to print transaction history", "kiosk statement printing"])),
    card("counter.privacy", section="process", title=bi("客户信息保密", "Customer privacy"),
         questions=_q(
             ["别人来查客户的余额怎么办", "老婆要查老公的流水", "能告诉爸爸他儿子卡里有多少钱吗",
              "朋友要看客户的交易明细"],
             ["someone asks for another customer's balance", "wife wants her husband's statement",
              "can I tell a father his son's balance",
              "a friend wants the customer's transaction history"])),
]

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.knowledge import RETRAIN_DEFAULTS, check, load
from tests.cards import REAL_CARDS, REAL_KB, card, full_card, write_cards

ROOT = Path(__file__).resolve().parent.parent


def problems(folder: Path) -> list[str]:
    return [str(p).replace(str(folder) + "/", "") for p in check(folder)[1]]


def test_real_knowledge_loads_clean_and_covers_the_catalogue() -> None:
    kb = load(REAL_KB)
    required = [line.strip() for line in (REAL_KB / "catalogue.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert len(required) == 50
    assert set(required) <= set(kb.cards)
    for c in kb.cards.values():
        assert len(c.questions.zh) + len(c.questions.en) >= 8, c.id
        assert len(c.drills) >= 3, c.id
        assert all(sum(o.correct for o in i.options) == 1 for i in c.drills)
        assert c.retrain_days == RETRAIN_DEFAULTS[c.type] or c.retrain_days > 0


def test_every_kind_of_error_is_reported_at_once(tmp_path: Path) -> None:
    good = card("dispute.good")
    unknown = card("dispute.unknown", colour="red")
    no_en = card("dispute.noen")
    no_en["summary"] = {"zh": "只有中文"}
    dup_a, dup_b = card("dispute.dup"), card("dispute.dup")
    dangling = card("dispute.dangling", related=["dispute.nowhere"])
    two_right = card("dispute.tworight")
    two_right["drills"][0]["options"][1]["correct"] = True
    none_right = card("dispute.noneright")
    none_right["drills"][1]["options"][0]["correct"] = False
    empty = card("dispute.empty")
    empty["title"]["en"] = "  "
    empty["steps"]["zh"] = []
    write_cards(tmp_path, good, unknown, no_en, dangling, two_right, none_right, empty)
    write_cards(tmp_path / "more", dup_a)
    (tmp_path / "dup2.yaml").write_text((tmp_path / "more" / "dispute.dup.yaml").read_text())
    assert dup_b["id"] == "dispute.dup"
    found = problems(tmp_path)
    expected = {
        "dispute.unknown.yaml: dispute.unknown: colour: unknown field",
        "dispute.noen.yaml: dispute.noen: summary: missing language en",
        "more/dispute.dup.yaml: dispute.dup: id: duplicate id, also in dup2.yaml",
        "dispute.dangling.yaml: dispute.dangling: related: dispute.nowhere points nowhere",
        "dispute.tworight.yaml: dispute.tworight: drills[dispute.tworight.d1].options: "
        "expected exactly one correct option, found 2",
        "dispute.noneright.yaml: dispute.noneright: drills[dispute.noneright.d2].options: "
        "expected exactly one correct option, found 0",
        "dispute.empty.yaml: dispute.empty: title.en: empty text",
        "dispute.empty.yaml: dispute.empty: steps.zh: expected a non-empty list of lines",
    }
    assert set(found) == expected


def test_flow_mapping_comma_is_caught(tmp_path: Path) -> None:
    """A comma in an unquoted flow-style value silently creates keys; kb check reports them."""
    text = (REAL_KB / "complaints" / "dispute.fee.yaml").read_text(encoding="utf-8")
    quoted = '"Get your supervisor\'s OK to refund the fee anyway, so the complaint doesn\'t escalate"'
    assert quoted in text
    text = text.replace(quoted, "Get your OK, so the complaint escalates")
    (tmp_path / "fee.yaml").write_text(text, encoding="utf-8")
    found = problems(tmp_path)
    assert "fee.yaml: dispute.fee: drills[dispute.fee.d3].options[b].text.so the complaint " \
           "escalates: unknown field" in found


def test_invalid_yaml_and_missing_catalogue_topic(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("id: [unclosed\n")
    write_cards(tmp_path, card("dispute.good"))
    (tmp_path / "catalogue.txt").write_text("# required\ndispute.good\ndispute.missing\n")
    found = problems(tmp_path)
    assert any(f.startswith("bad.yaml: -: line") and "not valid YAML" in f for f in found)
    assert "catalogue.txt: dispute.missing: id: catalogue topic has no card" in found
    assert len(found) == 2


def kb_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "kb", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_kb_check_exit_status(tmp_path: Path) -> None:
    assert kb_cli("check").returncode == 0
    write_cards(tmp_path, full_card("dispute.x", related=["nope"]))
    proc = kb_cli("check", str(tmp_path))
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == (f"{tmp_path}/dispute.x.yaml: dispute.x: related: "
                                           "nope points nowhere")
    assert "problem" not in proc.stdout  # the drill figures pass


def test_kb_list_json_and_show() -> None:
    rows = json.loads(kb_cli("list", "--json").stdout)
    by_id = {r["id"]: r for r in rows}
    assert len(by_id) == REAL_CARDS
    fee = by_id["dispute.fee"]
    assert fee["title"] == {"zh": "手续费争议", "en": "Fee disputes"}
    assert fee["languages"] == ["zh", "en"] and fee["questions"] >= 8 and fee["drills"] >= 3
    shown = kb_cli("show", "dispute.fee", "--lang", "en").stdout
    assert shown.startswith("Fee disputes\nRight now:") and "[Steps]  [What to say]" in shown
    shown = kb_cli("show", "dispute.fee", "--lang", "en", "--full").stdout
    assert shown.startswith("Fee disputes") and "1. " in shown and "Never" in shown
    missing = kb_cli("show", "no.such")
    assert missing.returncode == 2 and "no card" in missing.stderr


def test_libyaml_and_pure_python_parsers_read_the_same_cards(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    fast = check(REAL_KB)
    monkeypatch.setattr("bot.knowledge._LOADER", yaml.SafeLoader)
    assert check(REAL_KB) == fast
    assert len(fast[0]) == REAL_CARDS

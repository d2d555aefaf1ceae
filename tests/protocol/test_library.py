"""The protocol files load, are traceable (sources, sha256, unverified cells) and a broken file
is refused with the place of the mistake."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from edgemed.protocol import Category, available_protocols, load_protocol
from edgemed.protocol.errors import InvalidProtocolFile, UnknownProtocol
from edgemed.protocol.library import data_dir, load_protocol_file

SATS = data_dir() / "sats-adult.toml"


def test_the_three_protocols_ship() -> None:
    assert {"sats-adult", "iitt-adult", "etat-child"} <= set(available_protocols())


@pytest.mark.parametrize("protocol_id", ["sats-adult", "iitt-adult", "etat-child"])
def test_protocol_is_traceable(protocol_id: str) -> None:
    protocol = load_protocol(protocol_id)
    path = data_dir() / f"{protocol_id}.toml"
    assert protocol.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert protocol.version and protocol.title
    for rule in protocol.rules:
        assert rule.source in protocol.sources, rule.id
    for finding in protocol.findings.values():
        assert finding.label and finding.description and finding.question.endswith("?")
        assert finding.rule_id in {r.id for r in protocol.rules}
    assert [lv.category.urgency for lv in protocol.levels] == sorted(
        lv.category.urgency for lv in protocol.levels
    )
    assert protocol.levels[0].category is Category.RED
    assert protocol.levels[0].target_minutes == 0


def test_sats_levels_and_target_times() -> None:
    sats = load_protocol("sats-adult")
    assert [(lv.category.value, lv.target_minutes) for lv in sats.levels] == [
        ("red", 0),
        ("orange", 10),
        ("yellow", 60),
        ("green", 240),
    ]


def test_iitt_and_etat_state_their_category_map() -> None:
    iitt = load_protocol("iitt-adult")
    etat = load_protocol("etat-child")
    assert [lv.category for lv in iitt.levels] == [Category.RED, Category.YELLOW, Category.GREEN]
    assert [(lv.category, lv.word) for lv in etat.levels] == [
        (Category.RED, "Emergency"),
        (Category.ORANGE, "Priority"),
        (Category.GREEN, "Non-urgent (queue)"),
    ]
    # A level a protocol lacks maps to its next more urgent one: never down.
    assert iitt.map_category(Category.ORANGE) is Category.RED
    assert etat.map_category(Category.YELLOW) is Category.ORANGE


def test_every_cell_the_sources_call_unverified_is_listed() -> None:
    sats = load_protocol("sats-adult")
    cells = sats.unverified_cells()
    where = {c.where for c in cells}
    # Every TEWS cell is reconstructed from secondary sources.
    assert sats.score is not None
    n_cells = sum(len(p.cells) for p in sats.score.parameters)
    assert (
        sum(1 for c in cells if c.where.startswith("tews ") and c.where != "tews band") == n_cells
    )
    assert "rule seizure_current" in where
    disputed = [c for c in cells if "more urgent reading" in c.note]
    assert {c.text for c in disputed} >= {"RR < 9 -> 3 points", "HR < 41 -> 3 points"}
    iitt = {c.where for c in load_protocol("iitt-adult").unverified_cells()}
    assert {"rule meningitis_signs", "rule chest_abdominal_pain_over_50"} <= iitt


def test_unknown_protocol_names_the_available_ones() -> None:
    with pytest.raises(UnknownProtocol, match="available: etat-child, iitt-adult, sats-adult"):
        load_protocol("manchester")


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = SATS.read_text()
    assert old in text
    path = tmp_path / "sats-adult.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'verified = false\n\n[[finding]]\nid = "not_breathing"',
            'verifed = false\n\n[[finding]]\nid = "not_breathing"',
            "unknown key(s) verifed",
        ),
        ('source = "sats-secondary"', 'source = "who-knows"', "source 'who-knows' is not declared"),
        (
            'level = "red"\nsection = "Emergency signs"',
            'level = "purple"\nsection = "Emergency signs"',
            "not red/orange/yellow/green",
        ),
        ("{ ge = 9, le = 14, points = 0", "{ ge = 10, le = 14, points = 0", "falls in 0 cells"),
        ("{ gt = 14, le = 20, points = 1", "{ gt = 13, le = 20, points = 1", "falls in 2 cells"),
        (
            'findings = ["abdominal_pain", "abdominal_trauma"]',
            'findings = ["abdominal_pain", "belly_trauma"]',
            "'belly_trauma' is not declared",
        ),
        ("min = 5\nmax = 6", "min = 5\nmax = 7", "total 7 falls in 2 bands"),
        ('id = "sats-adult"', 'id = "sats"', "must match the file name"),
        ("[protocol]", "[protocol", "not valid TOML"),
    ],
)
def test_a_broken_file_is_refused_with_the_place(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(InvalidProtocolFile, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_protocol_file(_broken(tmp_path, old, new))


def test_a_copy_of_a_file_loads_with_its_own_hash(tmp_path: Path) -> None:
    path = _broken(tmp_path, "Step 1:", "Step one:")
    copy = load_protocol_file(path)
    assert copy.sha256 != load_protocol("sats-adult").sha256
    assert copy.rules == load_protocol("sats-adult").rules

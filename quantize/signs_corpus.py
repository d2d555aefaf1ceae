"""The training corpus for the sign model (issue 12): lay complaints labelled with the protocol
signs that are present, explicitly denied, or hedged, in en, fr, es, pt, sw and ar.

Standard library only and deterministic for a seed: the same seed writes the same bytes. The
words come from hand-written phrase banks, one per language, in ``quantize/data/signs_bank_*.txt``
(an AI author wrote them for this project; they were never derived from the frozen held-out sets
in tests/data/*heldout*, which this generator does not read). Each complaint is assembled from
those banks: an optional opening (who is speaking: a carer, a pregnant woman...), one to four
signs said as present, denied (per-language negation templates) or hedged (per-language hedge
templates), a duration, and sometimes a near-miss (a distractor, e.g. "cough for two weeks, no
blood") or a benign complaint. The banks' [handwritten] complaints are copied as they are
(``how`` = "handwritten" in English, "translated" in the other languages, which render the same
complaints).

    python quantize/signs_corpus.py            # writes quantize/data/signs_train.jsonl
    python quantize/signs_corpus.py --check    # fails if the committed file differs
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

LOCALES = ("en", "fr", "es", "pt", "sw", "ar")
SEED = 12
LINES_PER_LOCALE = 900
DATA = Path(__file__).resolve().parent / "data"
OUTPUT = DATA / "signs_train.jsonl"

# Coverage the corpus must reach in every locale (checked when it is built).
MIN_PRESENT = 15
MIN_ABSENT = 5

# Shares of lines, per locale (approximate: the rest are plain complaints with signs).
SHARE_BENIGN = 0.10
SHARE_DISTRACTOR = 0.15
SHARE_NEGATION = 0.30
SHARE_HEDGE = 0.10

# Who a sign can be said of: openings are tagged, and a complaint only takes an opening whose tag
# fits every sign in it ("any" is an opening with no speaker, which fits everyone).
TAGS_ALL = frozenset({"any", "adult", "child", "female", "male", "pregnant"})
CHILD_ONLY = frozenset({"any", "child"})
SIGN_TAGS: dict[str, frozenset[str]] = {
    "labour_active": frozenset({"any", "pregnant"}),
    "pv_bleeding": frozenset({"any", "female", "pregnant"}),
    "priapism": frozenset({"any", "male"}),
    "testicular_pain": frozenset({"any", "male", "child"}),
    "sexual_assault": frozenset({"any", "female", "adult", "male"}),
    "ecg_ischaemia": frozenset({"any", "adult", "male", "female"}),
    "ketonuria": frozenset({"any", "adult", "male", "female", "pregnant"}),
    "needlestick": frozenset({"any", "adult", "male", "female"}),
    "aggression": frozenset({"any", "adult", "male", "female"}),
    "lethargic": CHILD_ONLY,
    "restless_irritable": CHILD_ONLY,
    "severe_wasting": CHILD_ONLY,
    "sunken_eyes": CHILD_ONLY,
    "skin_pinch_slow": CHILD_ONLY,
    "very_hot": CHILD_ONLY,
    "cold_hands": CHILD_ONLY,
}

# Signs that share words or meaning: at most one of a family in a complaint, so that a phrase's
# implied labels (a burn is "burn" and "burn_other") never contradict another fragment.
FAMILIES: tuple[frozenset[str], ...] = (
    frozenset({"diarrhoea", "diarrhoea_ongoing"}),
    frozenset(
        {
            "burn",
            "burn_other",
            "burn_chemical_electrical",
            "burn_circumferential",
            "burn_face_inhalation",
            "burn_over_20_percent",
        }
    ),
    frozenset({"fever", "very_hot", "hypothermia"}),
    frozenset({"visual_loss", "visual_disturbance"}),
    frozenset({"respiratory_distress", "respiratory_distress_severe", "shortness_of_breath"}),
    frozenset({"severe_pain", "moderate_pain"}),
    frozenset({"altered_mental_status", "lethargic", "unresponsive", "post_ictal"}),
    frozenset({"seizure_current", "post_ictal"}),
    frozenset({"bleeding_controlled", "bleeding_ongoing", "heavy_bleeding"}),
    frozenset({"cold_hands", "cold_clammy_skin"}),
    frozenset({"anaphylaxis", "swelling_mouth_throat_neck"}),
    frozenset({"agitation", "restless_irritable", "aggression"}),
    frozenset({"not_breathing", "cardiac_arrest", "unresponsive"}),
    frozenset({"closed_fracture", "open_fracture", "limb_deformity"}),
    frozenset({"stab_neck_chest", "high_energy_transfer", "abdominal_trauma"}),
    frozenset({"urgent_surgery_known", "urgent_surgical_condition"}),
    frozenset({"priapism", "testicular_pain"}),
    frozenset({"fainting_recent", "unresponsive"}),
    frozenset({"vomiting_blood", "vomiting_persistent"}),
)

# One meaning, two ids (the adult and the child protocols name it differently): said, denied or
# hedged together.
SAME: dict[str, tuple[str, ...]] = {
    "burn": ("burn_other",),
    "burn_other": ("burn",),
}
# A sign that, when present, makes a broader one present too (not the other way round, and a
# denial of the narrow sign says nothing of the broad one).
# Conventions shared with the held-out set's written labelling rules (docs/evaluation.md): a
# major burn is also a burn; diarrhoea is "ongoing" only when the text says it goes on.
IMPLIES: dict[str, tuple[str, ...]] = {
    "diarrhoea_ongoing": ("diarrhoea",),
    "burn_face_inhalation": ("burn",),
    "burn_over_20_percent": ("burn",),
    "burn_circumferential": ("burn",),
    "burn_chemical_electrical": ("burn",),
    "respiratory_distress_severe": ("respiratory_distress",),
    "very_hot": ("fever",),
    "visual_loss": ("visual_disturbance",),
}

# How fragments are joined, per locale (the last one before the final fragment, or a comma).
JOINERS: dict[str, tuple[str, ...]] = {
    "en": (", ", " and ", ", also ", ", and "),
    "fr": (", ", " et ", ", aussi ", ", et "),
    "es": (", ", " y ", ", también ", ", y "),
    "pt": (", ", " e ", ", também ", ", e "),
    "sw": (", ", " na ", ", pia ", ", tena "),
    "ar": ("، ", " و", "، وأيضا ", "، و"),
}
LATIN = frozenset({"en", "fr", "es", "pt", "sw"})


@dataclass(frozen=True)
class Phrase:
    text: str
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Labelled:
    text: str
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    hedged: tuple[str, ...] = ()


@dataclass
class Bank:
    locale: str
    clauses: dict[str, list[Phrase]] = field(default_factory=dict)
    nouns: dict[str, list[Phrase]] = field(default_factory=dict)
    negation: list[str] = field(default_factory=list)
    hedge: list[str] = field(default_factory=list)
    duration: list[str] = field(default_factory=list)
    context: dict[str, list[str]] = field(default_factory=dict)
    distractor: list[Labelled] = field(default_factory=list)
    benign: list[str] = field(default_factory=list)
    handwritten: list[Labelled] = field(default_factory=list)


@dataclass
class Record:
    id: str
    locale: str
    text: str
    present: list[str]
    absent: list[str]
    hedged: list[str]
    how: str
    kind: str  # benign | distractor | plain | handwritten (not written out)

    def line(self) -> str:
        row = {
            "id": self.id,
            "locale": self.locale,
            "text": self.text,
            "present": self.present,
            "absent": self.absent,
            "hedged": self.hedged,
            "how": self.how,
        }
        return json.dumps(row, ensure_ascii=False)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def _phrase(text: str) -> Phrase:
    words, _, labels = text.partition("=>")
    extra = tuple(label.strip()[1:] for label in labels.split() if label.startswith("+"))
    return Phrase(words.strip(), extra)


def _labelled(text: str) -> Labelled:
    words, _, labels = text.partition("=>")
    marks = labels.split()
    return Labelled(
        words.strip(),
        tuple(m[1:] for m in marks if m.startswith("+")),
        tuple(m[1:] for m in marks if m.startswith("-")),
        tuple(m[1:] for m in marks if m.startswith("?")),
    )


def bank_path(locale: str) -> Path:
    return DATA / f"signs_bank_{locale}.txt"


def load_bank(locale: str) -> Bank:
    """Parse one phrase bank (format in the header of signs_bank_en.txt)."""
    bank = Bank(locale)
    section = ""
    for raw in bank_path(locale).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section == "signs":
            sign, _, rest = line.partition("=")
            clauses, _, nouns = rest.partition(";")
            bank.clauses[sign.strip()] = [_phrase(p) for p in _split(clauses)]
            bank.nouns[sign.strip()] = [_phrase(p) for p in _split(nouns)]
        elif section in ("negation", "hedge", "duration", "benign"):
            getattr(bank, section).extend(_split(line))
        elif section.startswith("context."):
            # An opening may be empty (no speaker): keep empty parts here.
            bank.context.setdefault(section[8:], []).extend(p.strip() for p in line.split("|"))
        elif section in ("distractor", "handwritten"):
            getattr(bank, section).append(_labelled(line))
        else:
            raise ValueError(f"{bank_path(locale)}: line outside a known section: {line!r}")
    return bank


def _family(sign: str) -> frozenset[str]:
    members = {sign}
    for family in FAMILIES:
        if sign in family:
            members |= family
    return frozenset(members)


def _fill(template: str, noun: str, locale: str) -> str:
    text = template.replace("{n}", noun)
    if locale == "fr":  # élision: "pas de épilepsie" -> "pas d'épilepsie"
        for word in (" de ", " que "):
            for vowel in "aeiouéèêhâîôAEIOUÉH":
                text = text.replace(f"{word}{vowel}", f"{word[:-2]}'{vowel}")
        if text.startswith("de ") and text[3:4] in "aeiouéèêhâîô":
            text = "d'" + text[3:]
    return text


class _Builder:
    def __init__(self, bank: Bank, seed: int, seen: set[str]) -> None:
        self.bank = bank
        self.rng = random.Random(f"signs-corpus/{seed}/{bank.locale}")
        self.signs = sorted(bank.nouns)
        self.present: dict[str, int] = dict.fromkeys(self.signs, 0)
        self.absent: dict[str, int] = dict.fromkeys(self.signs, 0)
        self.hedged: dict[str, int] = dict.fromkeys(self.signs, 0)
        self.seen = seen  # texts written so far, in every locale

    def pick(self, counts: dict[str, int], blocked: set[str], tags: frozenset[str]) -> str | None:
        """The sign with the fewest uses so far (ties broken at random) that fits the line."""
        choices = [
            s
            for s in self.signs
            if s not in blocked and SIGN_TAGS.get(s, TAGS_ALL) & tags and self.bank.nouns[s]
        ]
        if not choices:
            return None
        low = min(counts[s] for s in choices)
        best = [s for s in choices if counts[s] == low]
        return self.rng.choice(best)

    def join(self, fragments: list[str]) -> str:
        out = fragments[0]
        joiners = JOINERS[self.bank.locale]
        for i, fragment in enumerate(fragments[1:], start=1):
            last = i == len(fragments) - 1
            sep = self.rng.choice(joiners) if last else self.rng.choice(joiners[:2] + joiners[:1])
            out += sep + fragment
        return out

    def compose(self, kind: str, n_present: int, n_absent: int, n_hedged: int) -> Record | None:
        rng = self.rng
        bank = self.bank
        blocked: set[str] = set()
        tags = TAGS_ALL
        present: set[str] = set()
        absent: set[str] = set()
        hedged: set[str] = set()
        lead: list[str] = []  # fragments said before the signs
        tail: list[str] = []

        if kind == "benign":
            lead += rng.sample(bank.benign, rng.choice((1, 1, 2)))
        elif kind == "distractor":
            near = rng.choice(bank.distractor)
            lead.append(near.text)
            for group in (near.present, near.absent, near.hedged):
                for sign in group:
                    blocked |= _family(sign)
            present |= set(near.present)
            absent |= set(near.absent)
            hedged |= set(near.hedged)

        # Choose the signs (fewest-used first), keeping one of a family per line.
        chosen: list[tuple[str, str]] = []
        for role, count, counts in (
            ("present", n_present, self.present),
            ("absent", n_absent, self.absent),
            ("hedged", n_hedged, self.hedged),
        ):
            for _ in range(count):
                picked = self.pick(counts, blocked, tags)
                if picked is None:
                    return None
                blocked |= _family(picked)
                tags = tags & SIGN_TAGS.get(picked, TAGS_ALL)
                chosen.append((role, picked))

        said: list[str] = []
        timed = False  # a duration goes after a noun ("fever since yesterday"), once
        denied: list[str] = []
        for role, sign in chosen:
            if role == "present":
                phrase = rng.choice(bank.clauses[sign] + bank.nouns[sign])
                present |= {sign, *phrase.extra, *IMPLIES.get(sign, ()), *SAME.get(sign, ())}
                text = phrase.text
                if not timed and phrase in bank.nouns[sign] and rng.random() < 0.5:
                    text = f"{text} {rng.choice(bank.duration)}"
                    timed = True
                said.append(text)
            else:
                phrase = rng.choice(bank.nouns[sign])
                if role == "absent":
                    absent |= {sign, *SAME.get(sign, ())}
                    denied.append(_fill(rng.choice(bank.negation), phrase.text, bank.locale))
                else:
                    hedged |= {sign, *SAME.get(sign, ())}
                    denied.append(_fill(rng.choice(bank.hedge), phrase.text, bank.locale))
        rng.shuffle(denied)
        if kind == "distractor" and said and rng.random() < 0.5:
            fragments = said + lead + denied  # the near-miss after the real complaint
        else:
            fragments = lead + said + denied
        fragments += tail
        if not fragments:
            return None
        body = self.join(fragments)

        openings = [t for t in sorted(tags & set(bank.context)) if bank.context[t]]
        tag = rng.choice(openings) if openings else "any"
        opening = rng.choice(bank.context.get(tag, [""])) if kind != "benign" else ""
        if opening:
            text = f"{opening} {body}"
        else:
            text = body[:1].upper() + body[1:] if bank.locale in LATIN else body
        text += rng.choice((".", ".", ".", "", "!")) if kind != "benign" else "."
        if bank.locale in LATIN and rng.random() < 0.07:
            text = text.lower()  # typed in a hurry
        if text in self.seen:
            return None
        self.seen.add(text)
        if present & (absent | hedged) or absent & hedged:
            raise AssertionError(f"contradictory labels in {text!r}")
        for sign in present:
            self.present[sign] += 1
        for sign in absent:
            self.absent[sign] += 1
        for sign in hedged:
            self.hedged[sign] += 1
        return Record(
            "", bank.locale, text, sorted(present), sorted(absent), sorted(hedged), "template", kind
        )

    def handwritten(self) -> list[Record]:
        how = "handwritten" if self.bank.locale == "en" else "translated"
        records = []
        for item in self.bank.handwritten:
            self.seen.add(item.text)
            for sign in item.present:
                self.present[sign] += 1
            for sign in item.absent:
                self.absent[sign] += 1
            for sign in item.hedged:
                self.hedged[sign] += 1
            records.append(
                Record(
                    "",
                    self.bank.locale,
                    item.text,
                    sorted(item.present),
                    sorted(item.absent),
                    sorted(item.hedged),
                    how,
                    "handwritten",
                )
            )
        return records


def _plan(rng: random.Random, total: int) -> list[tuple[str, int, int, int]]:
    """The kind of each line and how many signs it says present, denied and hedged."""
    n_benign = round(total * SHARE_BENIGN)
    n_distractor = round(total * SHARE_DISTRACTOR)
    n_plain = total - n_benign - n_distractor
    plan: list[tuple[str, int, int, int]] = []
    for i in range(n_benign):
        plan.append(("benign", 0, 1 if i % 3 == 0 else 0, 0))
    for i in range(n_distractor):
        plan.append(("distractor", 1 + (i % 3 == 0), 1 if i % 4 == 0 else 0, 0))
    # Distractors often deny a sign themselves ("cough for two weeks, no blood").
    n_negated = round(total * SHARE_NEGATION) - n_benign // 3 - n_distractor // 2
    n_hedged = round(total * SHARE_HEDGE)
    for i in range(n_plain):
        present = (1, 2, 2, 3, 2, 3, 4, 1)[i % 8]
        absent = (1, 2, 2, 3)[i % 4] if i < n_negated else 0
        hedged = 1 if n_plain - n_hedged <= i else 0
        plan.append(("plain", present, absent, hedged))
    rng.shuffle(plan)
    return plan


def build_locale(
    locale: str, seed: int = SEED, total: int = LINES_PER_LOCALE, seen: set[str] | None = None
) -> list[Record]:
    bank = load_bank(locale)
    builder = _Builder(bank, seed, set() if seen is None else seen)
    records = builder.handwritten()
    for kind, n_present, n_absent, n_hedged in _plan(builder.rng, total - len(records)):
        for _attempt in range(200):
            record = builder.compose(kind, n_present, n_absent, n_hedged)
            if record is not None:
                records.append(record)
                break
        else:
            raise RuntimeError(f"{locale}: cannot write a new {kind} line")
    builder.rng.shuffle(records)
    for index, record in enumerate(records, start=1):
        record.id = f"tr-{locale}-{index:05d}"
    return records


def check(records: list[Record]) -> None:
    """Fail unless every locale reaches the coverage minima and no text is repeated."""
    signs = set(load_bank("en").nouns)
    for locale in LOCALES:
        if set(load_bank(locale).nouns) != signs:
            raise ValueError(f"{bank_path(locale)} does not name the same signs as English")
    texts = [r.text for r in records]
    if len(texts) != len(set(texts)):
        raise ValueError("a text is repeated")
    for locale, roles in coverage(records).items():
        for role, minimum in (("present", MIN_PRESENT), ("absent", MIN_ABSENT)):
            low = [s for s in signs if roles[role].get(s, 0) < minimum]
            if low:
                raise ValueError(f"{locale}: under {minimum} {role}: {sorted(low)}")
            unknown = set(roles[role]) - signs
            if unknown:
                raise ValueError(f"{locale}: unknown signs {sorted(unknown)}")


def build(seed: int = SEED) -> list[Record]:
    records: list[Record] = []
    seen: set[str] = set()
    for locale in LOCALES:
        records += build_locale(locale, seed, seen=seen)
    check(records)
    return records


def render(records: list[Record]) -> str:
    return "".join(record.line() + "\n" for record in records)


def coverage(records: list[Record]) -> dict[str, dict[str, dict[str, int]]]:
    """Per locale and role (present/absent/hedged), how many lines name each sign."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for record in records:
        roles = out.setdefault(record.locale, {"present": {}, "absent": {}, "hedged": {}})
        for role in ("present", "absent", "hedged"):
            for sign in getattr(record, role):
                roles[role][sign] = roles[role].get(sign, 0) + 1
    return out


def summary(records: list[Record]) -> str:
    lines = []
    for locale in LOCALES:
        mine = [r for r in records if r.locale == locale]
        n = len(mine)
        cov = coverage(mine)[locale]
        kinds = {k: sum(r.kind == k for r in mine) for k in ("benign", "distractor")}
        lines.append(
            f"{locale}: {n} lines; negation {sum(bool(r.absent) for r in mine) / n:.0%}, "
            f"hedge {sum(bool(r.hedged) for r in mine) / n:.0%}, "
            f"distractor {kinds['distractor'] / n:.0%}, benign {kinds['benign'] / n:.0%}; "
            f"min present {min(cov['present'].values())}, "
            f"min absent {min(cov['absent'].values())}, "
            f"signs present {len(cov['present'])}, absent {len(cov['absent'])}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare with --out, write nothing")
    args = parser.parse_args(argv)
    records = build(args.seed)
    text = render(records)
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{args.out} differs from the generator's output")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {len(records)} lines to {args.out}")
    print(summary(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())

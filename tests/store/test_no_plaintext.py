"""No file in the data directory ever holds patient text in plain."""

from __future__ import annotations

import io
from pathlib import Path

from edgemed.store import Store, restore_backup, write_backup

from .conftest import CHEAP_KDF, PASSPHRASE, USER, make_record

MARKERS = ("QXMARKERZAWADI", "QYMARKERFEVER")


def _leaks(folder: Path) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        blob = path.read_bytes()
        for marker in MARKERS:
            for form in (marker.encode(), marker.encode("utf-16-le"), marker.lower().encode()):
                if form in blob:
                    found.append(f"{path.name}: {marker}")
    return found


def test_no_marker_in_any_file_while_open_after_close_and_in_backups(
    store: Store, db_path: Path
) -> None:
    folder = db_path.parent
    saved = []
    for n in range(30):
        saved.append(store.save_encounter(make_record(f"{MARKERS[0]} {n} {MARKERS[1]}")))
    store.correct_encounter(saved[0].encounter_id, make_record(MARKERS[1]), reason=MARKERS[0])
    store.save_draft("draft-1", {"complaint": MARKERS[0], "name": MARKERS[1]})
    store.list_encounters(search=MARKERS[0][:6])  # FTS and sorting must not spill to temp files
    write_backup(store, folder / "monday.backup", "backup words", kdf=CHEAP_KDF)

    # While open: the WAL holds every page written so far.
    wal = db_path.with_name(db_path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0
    assert _leaks(folder) == []

    # An open write transaction that has not committed yet (rolled back after the scan).
    store.db.conn.execute("BEGIN IMMEDIATE")
    store.db.execute(
        "INSERT INTO drafts (draft_id, user, updated_at, body_json) VALUES (?,?,?,?)",
        ["x", USER, "2026", MARKERS[0] * 200],
    )
    assert _leaks(folder) == []
    store.db.conn.execute("ROLLBACK")

    store.close()
    assert _leaks(folder) == []

    # Restore writes a new log: still nothing in plain.
    restored = restore_backup(
        folder / "monday.backup",
        "backup words",
        dest=folder / "restored.db",
        user=USER,
        passphrase=PASSPHRASE,
        kdf=CHEAP_KDF,
    )
    assert len(restored.list_encounters()) == 30
    restored.close()
    assert _leaks(folder) == []


def test_the_scan_would_see_a_plaintext_export(store: Store, db_path: Path) -> None:
    """The check above can fail: an explicit plaintext export is exactly what it catches."""
    store.save_encounter(make_record(MARKERS[0]))
    out = io.StringIO()
    store.export_csv(out, plaintext=True)
    (db_path.parent / "export.csv").write_text(out.getvalue())
    assert _leaks(db_path.parent) == [f"export.csv: {MARKERS[0]}"]

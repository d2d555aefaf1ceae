"""A log put back from an older copy opens for reading only: the nurse is told at unlock,
before typing an encounter that could not be saved (hardening issue, rows 2 and 6)."""

from __future__ import annotations

import shutil

from edgemed.tui.app import EdgemedApp
from tests.service.test_encounter import _to_result

from .conftest import PASSPHRASE, USER, ready_session
from .drive import unlock


async def test_a_rolled_back_log_is_said_at_unlock() -> None:
    session = ready_session()
    session.unlock(USER, PASSPHRASE)
    vitals = {"rr": "16", "hr": "80", "sbp": "120", "temp_c": "37", "avpu": "A"}
    session.finish(_to_result(session, "cough", **vitals, mobility="walking"))
    session.close()
    older = session.log_path.with_name("older.db")
    shutil.copy(session.log_path, older)
    session.unlock(USER, PASSPHRASE)
    session.finish(_to_result(session, "sore throat", **vitals, mobility="walking"))
    session.close()
    shutil.copy(older, session.log_path)  # an older copy put back: the last encounter vanishes

    app = EdgemedApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.pause()
        assert session.log_problem is not None
        notices = [str(n.message) for n in app._notifications]
        assert any("read but not written" in n for n in notices), notices

"""From the queue, a patient is marked seen (x) or left without being seen (w): off today's
queue, kept in the history, recorded in the log as a new version (issue 14)."""

from __future__ import annotations

from textual.widgets import DataTable

from edgemed.tui.app import EdgemedApp
from tests.service.test_encounter import _to_result

from .conftest import PASSPHRASE, USER, ready_session
from .drive import app_screen, settle, unlock


async def test_seen_and_left_take_patients_off_the_queue() -> None:
    session = ready_session()
    session.unlock(USER, PASSPHRASE)
    vitals = {"rr": "16", "hr": "80", "sbp": "120", "temp_c": "37", "avpu": "A"}
    for complaint in ("cough", "sore throat"):
        session.finish(_to_result(session, complaint, **vitals, mobility="walking"))
    session.lock()
    app = EdgemedApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        assert app_screen(pilot) == "QueueScreen"
        assert app.screen.query_one(DataTable).row_count == 2
        await pilot.press("x")
        await settle(pilot)
        assert app.screen.query_one(DataTable).row_count == 1
        await pilot.press("w")
        await settle(pilot)
        assert app.screen.query_one(DataTable).row_count == 0
        reasons = sorted(e.reason for e in session.log.encounters())
        assert reasons == ["left without being seen", "seen"]
        assert len(session.history()) == 2

"""Settings apply at once (language without a restart, theme), and the app locks itself."""

from __future__ import annotations

from textual.widgets import Input, Select, Static

from edgemed.settings import load_settings
from edgemed.tui.app import EdgemedApp

from .conftest import ready_session
from .drive import app_screen, settle, unlock


async def test_language_and_theme_change_without_a_restart() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("s")
        await pilot.pause()
        assert app_screen(pilot) == "SettingsScreen"
        app.screen.query_one("#language", Select).value = "fr"
        app.screen.query_one("#theme", Select).value = "high-contrast"
        autolock = app.screen.query_one("#autolock", Input)
        autolock.value = "5"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app_screen(pilot) == "QueueScreen"
        title = str(app.screen.query_one(".title", Static).render())
        assert title.startswith("File du jour")
        assert app.theme == "edgemed-high-contrast"
        footer_keys = {b.description for _, b in app.screen._bindings}
        assert "Nouveau" in footer_keys and "Historique" in footer_keys
    saved = load_settings()
    assert (saved.language, saved.theme, saved.auto_lock_minutes) == ("fr", "high-contrast", 5)


async def test_settings_refuse_a_bad_auto_lock_in_place() -> None:
    app = EdgemedApp(ready_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#autolock", Input).value = "999"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app_screen(pilot) == "SettingsScreen"
        assert "auto_lock_minutes" in str(app.screen.query_one("#message", Static).render())


async def test_idle_app_locks_itself_and_keeps_the_screen() -> None:
    session = ready_session()
    app = EdgemedApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(pilot)
        await pilot.press("h")
        await pilot.pause()
        app.last_activity -= session.settings.auto_lock_minutes * 60 + 1
        app.lock_if_idle()
        await pilot.pause()
        assert app_screen(pilot) == "UnlockScreen" and not session.unlocked
        await unlock(pilot)
        assert app_screen(pilot) == "HistoryScreen" and session.unlocked

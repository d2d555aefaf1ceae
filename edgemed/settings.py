"""The clinic's settings: one small TOML file at ``locations.settings_file()``.

Read with ``tomllib``, validated into a list of problems a person can fix, written back by hand
(the values are flat strings, integers and booleans, so a TOML writer library is not needed).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from edgemed import locations
from edgemed.errors import InputError
from edgemed.files import write_atomic
from edgemed.i18n import _

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 on an old Raspberry Pi OS
    import tomli as tomllib

THEME_CHOICES = ("dark", "light", "high-contrast")
# The nurse may set 0 to never lock: a shared laptop should not, so the default locks.
MAX_AUTO_LOCK_MINUTES = 240


class SettingsError(InputError):
    """The settings file cannot be used as it is; the message lists what to fix."""


@dataclass(frozen=True)
class Settings:
    """What the clinic chose at first run and in the settings screen."""

    language: str = "en"
    clinic_name: str = ""
    # None = rules-only mode (no language model); otherwise a catalog model id.
    model_id: str | None = None
    # None = route by the patient's age (adult SATS, child ETAT); otherwise a forced protocol id.
    protocol_id: str | None = None
    auto_lock_minutes: int = 10
    theme: str = "dark"
    setup_done: bool = False

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def problems(settings: Settings) -> list[str]:
    """Everything wrong with ``settings``, in words a person can act on (empty = fine)."""
    found: list[str] = []
    if settings.theme not in THEME_CHOICES:
        found.append(
            _("theme must be one of {choices}, not {value!r}").format(
                choices=", ".join(THEME_CHOICES), value=settings.theme
            )
        )
    if not 0 <= settings.auto_lock_minutes <= MAX_AUTO_LOCK_MINUTES:
        found.append(
            _("auto_lock_minutes must be between 0 and {high}, not {value}").format(
                high=MAX_AUTO_LOCK_MINUTES, value=settings.auto_lock_minutes
            )
        )
    if not settings.language.replace("_", "").isalpha():
        found.append(
            _("language must be a code such as en or fr, not {value!r}").format(
                value=settings.language
            )
        )
    return found


def _coerce(name: str, value: object, default: object) -> object:
    if name in ("model_id", "protocol_id"):
        # TOML has no null: an empty string means "none chosen".
        if not isinstance(value, str):
            raise TypeError(name)
        return value or None
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise TypeError(name)
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(name)
        return value
    if not isinstance(value, str):
        raise TypeError(name)
    return value


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings file; a missing file gives the defaults, a broken one a SettingsError."""
    path = path or locations.settings_file()
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SettingsError(
            _("The settings file {path} is not valid TOML: {error}").format(path=path, error=error),
            hint=_("Fix the file or delete it to start again with the defaults."),
        ) from error
    section = raw.get("edgemed", raw)
    defaults = Settings()
    values: dict[str, object] = {}
    errors: list[str] = []
    known = {f.name for f in fields(Settings)}
    for key, value in section.items():
        if key not in known:
            errors.append(_("unknown setting {name!r}").format(name=key))
            continue
        try:
            values[key] = _coerce(key, value, getattr(defaults, key))
        except TypeError:
            errors.append(_("setting {name!r} has the wrong type").format(name=key))
    settings = replace(defaults, **values)  # type: ignore[arg-type]
    errors.extend(problems(settings))
    if errors:
        raise SettingsError(
            _("The settings file {path} has problems: {problems}").format(
                path=path, problems="; ".join(errors)
            ),
            hint=_("Fix the file or delete it to start again with the defaults."),
        )
    return settings


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = "" if value is None else str(value)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write ``settings`` atomically (a power cut leaves the old file or the new one)."""
    found = problems(settings)
    if found:
        raise SettingsError("; ".join(found))
    path = path or locations.settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# edgemed settings: written by the app; safe to edit by hand.", "[edgemed]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in asdict(settings).items()]
    write_atomic(path, "\n".join(lines) + "\n")  # 0600, like the log beside it
    return path

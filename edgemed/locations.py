"""Where edgemed keeps things on disk, in one place (XDG locations, overridable for tests).

- ``EDGEMED_HOME``: the data directory (encounter log, drafts, settings). Default: the per-user
  data dir (``~/.local/share/edgemed`` on Linux).
- ``EDGEMED_MODELS_DIR``: installed model files. Default: ``<data dir>/models``.
- ``EDGEMED_CONFIG``: the settings file. Default: ``<data dir>/settings.toml``.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "edgemed"


def data_dir() -> Path:
    override = os.environ.get("EDGEMED_HOME")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def encounter_log() -> Path:
    """The encrypted encounter log's database (its keyring and other files lie beside it)."""
    return data_dir() / "encounters.db"


def models_dir() -> Path:
    override = os.environ.get("EDGEMED_MODELS_DIR")
    return Path(override) if override else data_dir() / "models"


def settings_file() -> Path:
    override = os.environ.get("EDGEMED_CONFIG")
    return Path(override) if override else data_dir() / "settings.toml"


def cache_dir() -> Path:
    override = os.environ.get("EDGEMED_CACHE")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME))

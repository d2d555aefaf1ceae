"""The import-linter contracts are live: each one fails on a deliberate violation.

The project is copied to a temporary directory, one forbidden import is added there, and
``lint-imports`` must report exactly that contract as broken. The real tree is never touched.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# contract id -> (file to add the violation to, the offending import line)
VIOLATIONS: dict[str, tuple[str, str]] = {
    "protocol-is-pure": ("edgemed/protocol/__init__.py", "import edgemed.i18n"),
    "textual-only-in-tui": ("edgemed/protocol/__init__.py", "import textual"),
    "engines-only-in-inference": ("edgemed/store/__init__.py", "import llama_cpp"),
    "sqlcipher-only-in-store": ("edgemed/inference/__init__.py", "import sqlcipher3"),
    "runtime-without-heavy-ml": ("edgemed/i18n.py", "import torch"),
    "tui-talks-to-service": ("edgemed/tui/__init__.py", "import edgemed.store"),
    "tui-one-way": ("edgemed/tui/widgets/banner.py", "import edgemed.tui.screens.base"),
    "tui-screens-independent": (
        "edgemed/tui/screens/vitals.py",
        "import edgemed.tui.screens.questions",
    ),
    "quantize-uses-catalog-and-inference-only": ("quantize/__init__.py", "import edgemed.store"),
    "files-is-standalone": ("edgemed/files.py", "import edgemed.i18n"),
    "store-layers": ("edgemed/store/store.py", "import edgemed.store.backup"),
}


def _contracts() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["id"]: c["name"] for c in config["tool"]["importlinter"]["contracts"]}


def _copy_project(dest: Path) -> None:
    for name in ("edgemed", "quantize"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", "pyproject.toml"],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_contract_has_a_violation_test() -> None:
    assert set(_contracts()) == set(VIOLATIONS)


def test_the_real_tree_keeps_every_contract(tmp_path: Path) -> None:
    _copy_project(tmp_path)
    result = _lint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_files_forbids_every_other_module_of_edgemed() -> None:
    """A module added to edgemed later is forbidden to edgemed.files too, not silently allowed."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(
        c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "files-is-standalone"
    )
    modules = {
        f"edgemed.{p.stem}"
        for p in (ROOT / "edgemed").iterdir()
        if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").is_file())
    }
    assert modules - {"edgemed.files"} <= set(contract["forbidden_modules"])


def test_files_imports_the_standard_library_only() -> None:
    """The bundle installer imports edgemed.files from the wheel under ``python -I -S``."""
    tree = ast.parse((ROOT / "edgemed" / "files.py").read_text())
    imported = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    imported |= {
        (n.module or "").split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.level == 0
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


@pytest.mark.parametrize("contract_id", sorted(VIOLATIONS))
def test_contract_is_live(contract_id: str, tmp_path: Path) -> None:
    _copy_project(tmp_path)
    target, line = VIOLATIONS[contract_id]
    path = tmp_path / target
    path.write_text(path.read_text() + f"\n{line}  # deliberate violation\n")

    result = _lint(tmp_path)

    assert result.returncode != 0, f"{contract_id} did not catch `{line}` in {target}"
    name = " ".join(_contracts()[contract_id].split())
    report = " ".join((result.stdout + result.stderr).split())
    assert f"{name} BROKEN" in report, report

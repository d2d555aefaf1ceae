"""The devices an offline bundle is built for (``targets.toml``) and the pip tags they accept."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 on Jetson's Ubuntu 22.04
    import tomli as tomllib

from edgemed.errors import InputError
from edgemed.hardware import load_profiles
from edgemed.i18n import _

MACHINES = ("x86_64", "aarch64")
_VERSION = re.compile(r"^(\d+)\.(\d+)$")
# manylinux2014 is glibc 2.17: the oldest tag the wheels edgemed needs are published for.
_OLDEST_GLIBC_MINOR = 17


class UnknownTarget(InputError):
    """A target id, Python or glibc version the bundle builder cannot use."""


@dataclass(frozen=True)
class Target:
    """One class of device: its CPU, its OS's Python and glibc, and its llama.cpp build flags."""

    id: str
    profile: str
    description: str
    machine: str
    python: str
    glibc: str
    os: str
    cmake_args: str
    system_packages: tuple[str, ...] = ()
    build_environment: dict[str, str] = field(default_factory=dict)
    # CPU features (as /proc/cpuinfo names them) the profile's llama.cpp flags compile for: the
    # installer refuses a device without them, before a build that would die of SIGILL.
    cpu_features: tuple[str, ...] = ()

    @property
    def python_tag(self) -> str:
        """``cp311`` for Python 3.11: the interpreter and ABI tag of its compiled wheels."""
        return "cp" + self.python.replace(".", "")

    def platform_tags(self) -> list[str]:
        """Every manylinux tag a wheel for this device may carry, newest glibc first.

        pip's ``--platform`` matches tags exactly (it does not widen ``manylinux_2_36`` to the
        older glibc versions a newer system also runs), so all of them are listed.
        """
        newest = int(self.glibc.split(".")[1])
        tags = [f"manylinux_2_{minor}_{self.machine}" for minor in range(newest, 16, -1)]
        return [*tags, f"manylinux2014_{self.machine}"]

    def with_versions(self, python: str | None, glibc: str | None) -> Target:
        """The same device running another OS release (another Python or glibc)."""
        for value, what in ((python, "Python"), (glibc, "glibc")):
            if value is not None and not _VERSION.match(value):
                raise UnknownTarget(
                    _("{what} version {value!r} is not of the form 3.11.").format(
                        what=what, value=value
                    )
                )
        if glibc is not None and int(glibc.split(".")[1]) < _OLDEST_GLIBC_MINOR:
            raise UnknownTarget(
                _("glibc {value} is older than 2.17: no current wheels run there.").format(
                    value=glibc
                )
            )
        return replace(self, python=python or self.python, glibc=glibc or self.glibc)


def _target(raw: dict[str, Any], cmake_args: dict[str, str]) -> Target:
    machine = str(raw["machine"])
    if machine not in MACHINES:
        raise UnknownTarget(
            _("Target {id}: unknown machine {machine!r}.").format(id=raw["id"], machine=machine)
        )
    profile = str(raw["profile"])
    return Target(
        id=str(raw["id"]),
        profile=profile,
        description=str(raw["description"]),
        machine=machine,
        python=str(raw["python"]),
        glibc=str(raw["glibc"]),
        os=str(raw["os"]),
        cmake_args=cmake_args[profile],
        system_packages=tuple(str(p) for p in raw.get("system_packages", [])),
        build_environment={str(k): str(v) for k, v in raw.get("build_environment", {}).items()},
        cpu_features=tuple(str(f) for f in raw.get("cpu_features", [])),
    )


def load_targets() -> dict[str, Target]:
    """Every target in ``targets.toml``, with the llama.cpp flags of its device profile."""
    text = (resources.files("edgemed.bundle") / "targets.toml").read_text(encoding="utf-8")
    cmake_args = {p.id: p.cmake_args for p in load_profiles().values()}
    return {t.id: t for t in (_target(r, cmake_args) for r in tomllib.loads(text)["targets"])}


def find_target(target_id: str) -> Target:
    targets = load_targets()
    if target_id not in targets:
        raise UnknownTarget(
            _("No bundle target {id!r}.").format(id=target_id),
            hint=_("Known targets: {ids}.").format(ids=", ".join(sorted(targets))),
        )
    return targets[target_id]

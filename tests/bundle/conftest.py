"""Real bundles, built once per session from wheels cached across runs, and one real install.

The wheels for each target are kept in ``EDGEMED_TEST_WHEELS`` (default
``~/.cache/edgemed-test-wheels``). The first run fills it from the package registry by building
online; later runs build with ``--wheelhouse`` (no registry), and fall back to online if the cache
no longer satisfies edgemed's requirements. llama-cpp-python for the laptop bundle is the wheel pip
built when ``make test`` installed it (``pip wheel`` takes it from pip's cache).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edgemed.bundle import keys
from edgemed.bundle.build import BuildRequest, BuiltBundle, build_bundle
from edgemed.bundle.pip import PipFailed
from edgemed.bundle.targets import find_target
from tests.inference.model_cache import use_shared_models

LLAMA = "llama-cpp-python==0.3.36"


def wheel_cache() -> Path:
    override = os.environ.get("EDGEMED_TEST_WHEELS")
    root = Path(override) if override else Path.home() / ".cache" / "edgemed-test-wheels"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _llama_wheel() -> Path:
    folder = wheel_cache() / "llama-x86_64"
    found = sorted(folder.glob("llama_cpp_python-*.whl"))
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--quiet",
                "-w",
                str(folder),
                LLAMA,
            ],
            check=True,
        )
        found = sorted(folder.glob("llama_cpp_python-*.whl"))
    return found[0]


def _build_cached(request: BuildRequest, name: str) -> BuiltBundle:
    """Build offline from the cached wheels; refresh the cache online when it falls short."""
    house = wheel_cache() / name
    if (house / ".complete").exists():
        try:
            return build_bundle(BuildRequest(**{**request.__dict__, "wheelhouse": house}))
        except PipFailed:
            pass  # edgemed gained a requirement since the cache was filled
    built = build_bundle(request)
    house.mkdir(exist_ok=True)
    for folder in ("wheels", "sources"):
        for item in (built.directory / folder).glob("*"):
            if not item.name.startswith("edgemed-"):
                shutil.copyfile(item, house / item.name)
    (house / ".complete").touch()
    return built


@pytest.fixture(scope="session")
def deployer(tmp_path_factory: pytest.TempPathFactory) -> keys.DeployerKey:
    """The deployer key every real bundle of the session is signed with."""
    return keys.generate(tmp_path_factory.mktemp("deployer"))


def public_key(deployer: keys.DeployerKey) -> Path:
    return deployer.path.with_name(keys.PUBLIC_NAME)


@pytest.fixture(scope="session")
def laptop_bundle(
    tmp_path_factory: pytest.TempPathFactory, deployer: keys.DeployerKey
) -> Iterator[BuiltBundle]:
    """A laptop (x86_64) bundle with the default model and a prebuilt llama-cpp-python."""
    out = tmp_path_factory.mktemp("bundles") / "laptop"
    # The model comes through the catalog from the models folder shared across test runs.
    with pytest.MonkeyPatch.context() as patch:
        use_shared_models(patch)
        request = BuildRequest(
            find_target("laptop"),
            out,
            "default",
            llama_wheel=_llama_wheel(),
            signing_key=deployer.path,
        )
        built = _build_cached(request, "x86_64-cp311")
    yield built
    shutil.rmtree(out, ignore_errors=True)  # 290 MB per run: pytest keeps three runs' tmp dirs


@pytest.fixture(scope="session")
def pi5_bundle(
    tmp_path_factory: pytest.TempPathFactory, deployer: keys.DeployerKey
) -> Iterator[BuiltBundle]:
    """A Raspberry Pi 5 bundle (aarch64 wheels, llama.cpp source), rules-only to stay small."""
    out = tmp_path_factory.mktemp("bundles") / "pi5"
    request = BuildRequest(find_target("pi5"), out, None, signing_key=deployer.path)
    yield _build_cached(request, "aarch64-cp311")
    shutil.rmtree(out, ignore_errors=True)


def clean_environment(**extra: str) -> dict[str, str]:
    """The environment of a technician's shell: no edgemed overrides from the test session."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EDGEMED_")}
    return {**environment, "EDGEMED_LANG": "en", **extra}


def offline(command: list[str]) -> list[str]:
    """``command`` in a network namespace of its own (no network at all) when we may make one."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], check=False).returncode == 0:
        return [unshare, "-n", *command]
    return command


@dataclass(frozen=True)
class Installed:
    bundle: BuiltBundle
    prefix: Path
    data_dir: Path
    output: str

    @property
    def release(self) -> Path:
        return (self.prefix / "current").resolve()


@pytest.fixture(scope="session")
def installed(
    laptop_bundle: BuiltBundle, tmp_path_factory: pytest.TempPathFactory, deployer: keys.DeployerKey
) -> Iterator[Installed]:
    """The laptop bundle installed by its own install.sh, with no network, as a technician would."""
    root = tmp_path_factory.mktemp("device")
    prefix, data_dir = root / "opt" / "edgemed", root / "var" / "lib" / "edgemed"
    command = ["sh", str(laptop_bundle.directory / "install.sh"), "--prefix", str(prefix)]
    command += ["--deployer-key", str(public_key(deployer))]
    result = subprocess.run(
        offline([*command, "--data-dir", str(data_dir)]),
        env=clean_environment(PYTHON=sys.executable),
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    yield Installed(laptop_bundle, prefix, data_dir, output)
    shutil.rmtree(root, ignore_errors=True)

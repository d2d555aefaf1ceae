"""The offline bundle: built for real, installed for real with no network, refused when tampered."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from edgemed.bundle import keys
from edgemed.bundle.build import BuildRequest, BuiltBundle, build_bundle, target_python
from edgemed.bundle.manifest import CHECKSUMS, MANIFEST, SIGNATURE, BundleError, read_bundle
from edgemed.bundle.sources import source_requirements
from edgemed.bundle.targets import find_target
from edgemed.catalog import load_catalog, read_manifest
from edgemed.protocol import Finding, Patient, Vitals, assess
from tests.bundle.conftest import Installed, clean_environment, offline, public_key

EDGEMED = str(Path(sys.executable).with_name("edgemed"))
REPO = Path(__file__).resolve().parents[2]
# The session's deployer key, as a technician would have brought it (EDGEMED_DEPLOYER_KEY).
_KEY: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _deployer_key(deployer: keys.DeployerKey) -> None:
    _KEY["EDGEMED_DEPLOYER_KEY"] = str(public_key(deployer))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _edgemed(*arguments: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EDGEMED, *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        env=clean_environment(**_KEY),
        check=False,
    )


def _linked_copy(bundle: BuiltBundle, tmp_path: Path) -> Path:
    """A copy that shares the big files' blocks; a file is then changed by replacing it."""
    copy = tmp_path / "stick"
    shutil.copytree(bundle.directory, copy, copy_function=os.link)
    return copy


def _replace(path: Path, data: bytes) -> None:
    path.unlink()
    path.write_bytes(data)


def test_the_manifest_and_sha256sums_list_every_file(laptop_bundle: BuiltBundle) -> None:
    root = laptop_bundle.directory
    on_disk = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).as_posix() not in (MANIFEST, CHECKSUMS, SIGNATURE)
    }
    manifest = read_bundle(root)
    assert {f.path for f in manifest.files} == on_disk
    for item in manifest.files:
        assert _sha256(root / item.path) == item.sha256, item.path
    checked = subprocess.run(
        ["sha256sum", "--strict", "--quiet", "-c", CHECKSUMS], cwd=root, check=False
    )
    assert checked.returncode == 0
    assert laptop_bundle.fingerprint == _sha256(root / CHECKSUMS)
    assert {"wheels/" + w for w in os.listdir(root / "wheels")} <= on_disk
    # The model is the catalog's default, in the catalog's own bundle layout and checksum.
    default = load_catalog().find("default").artifact
    assert manifest.model == default.id
    (artifact,) = read_manifest(root / "models")
    assert artifact.files == default.files
    # Signed by the deployer: SHA256SUMS (which names bundle.json) and the model's manifest.
    assert manifest.signer == keys.load(Path(_KEY["EDGEMED_DEPLOYER_KEY"]).with_name(
        keys.PRIVATE_NAME)).id  # fmt: skip
    assert len((root / SIGNATURE).read_bytes()) == 64
    assert "models/manifest.json.sig" in on_disk


def test_the_offline_install_triages_like_the_source(installed: Installed) -> None:
    assert installed.release.parent == installed.prefix / "releases"
    assert installed.release.name.endswith(installed.bundle.fingerprint[:12])
    # The installed program is the wheel from the bundle, not this checkout.
    where = subprocess.run(
        [
            str(installed.release / "bin" / "python"),
            "-I",
            "-c",
            "import edgemed; print(edgemed.__file__)",
        ],
        capture_output=True,
        text=True,
        cwd=installed.prefix,
        check=True,
    ).stdout
    assert where.startswith(str(installed.release))
    case = {
        "patient": {"age_years": 52},
        "vitals": {"hr": 118, "rr": 24, "sbp": 88},
        "findings": ["chest_pain"],
    }
    result = subprocess.run(
        [str(installed.prefix / "bin" / "edgemed"), "assess", "-"],
        input=json.dumps(case),
        capture_output=True,
        text=True,
        env=clean_environment(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    expected = assess(Patient(age_years=52), Vitals(hr=118, rr=24, sbp=88), [Finding("chest_pain")])
    decided = json.loads(result.stdout)
    assert decided["category"] == expected.category.value
    assert [r["rule_id"] for r in decided["reasons"]] == [r.rule_id for r in expected.reasons]


def test_the_installed_model_and_store_work(installed: Installed, tmp_path: Path) -> None:
    verified = subprocess.run(
        [str(installed.prefix / "bin" / "edgemed"), "models", "verify"],
        capture_output=True,
        text=True,
        env=clean_environment(),
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    model = load_catalog().find("default").artifact
    assert model.id in verified.stdout
    installed_file = installed.data_dir / "models" / model.id / model.files[0].path
    assert _sha256(installed_file) == model.files[0].sha256
    roundtrip = subprocess.run(
        [
            str(installed.release / "bin" / "python"),
            str(Path(__file__).with_name("store_roundtrip.py")),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=clean_environment(),
        check=False,
    )  # fmt: skip
    assert roundtrip.returncode == 0, roundtrip.stdout + roundtrip.stderr
    assert json.loads(roundtrip.stdout)["plaintext_on_disk"] is False


def test_a_changed_wheel_is_refused_before_anything_is_installed(
    laptop_bundle: BuiltBundle, tmp_path: Path
) -> None:
    stick = _linked_copy(laptop_bundle, tmp_path)
    wheel = next((stick / "wheels").glob("click-*.whl"))
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF
    _replace(wheel, bytes(data))
    prefix = tmp_path / "prefix"
    result = _edgemed("bundle", "install", str(stick), "--prefix", str(prefix))
    assert result.returncode == 1
    assert f"wheels/{wheel.name} does not match its sha256" in result.stderr
    assert "nothing was installed" in result.stderr
    assert not prefix.exists()
    # The shell installer refuses it too, before running any Python from the stick.
    script = subprocess.run(
        ["sh", str(stick / "install.sh"), "--prefix", str(prefix)],
        capture_output=True,
        text=True,
        env=clean_environment(PYTHON=sys.executable),
        check=False,
    )
    assert script.returncode == 1
    assert "damaged or was changed" in script.stderr
    assert not prefix.exists()


def test_a_wheel_slipped_onto_the_stick_is_refused(
    laptop_bundle: BuiltBundle, tmp_path: Path
) -> None:
    stick = _linked_copy(laptop_bundle, tmp_path)
    extra = stick / "wheels" / "click-99.0-py3-none-any.whl"
    with zipfile.ZipFile(extra, "w") as archive:
        archive.writestr("click/__init__.py", "raise SystemExit('not the real click')\n")
    prefix = tmp_path / "prefix"
    # sha256sum -c alone cannot see an added file: the installer's own check must.
    result = subprocess.run(
        [
            "sh",
            str(stick / "install.sh"),
            "--prefix",
            str(prefix),
            "--deployer-key",
            _KEY["EDGEMED_DEPLOYER_KEY"],
        ],
        capture_output=True,
        text=True,
        env=clean_environment(PYTHON=sys.executable),
        check=False,
    )
    assert result.returncode == 1
    assert "wheels/click-99.0-py3-none-any.whl is not part of the bundle" in result.stderr
    assert not prefix.exists()


def test_a_missing_model_or_another_fingerprint_is_refused(
    laptop_bundle: BuiltBundle, tmp_path: Path
) -> None:
    wrong = _edgemed(
        "bundle", "install", str(laptop_bundle.directory), "--prefix", str(tmp_path / "p"),
        "--expect-fingerprint", "0" * 64,
    )  # fmt: skip
    assert wrong.returncode == 1
    assert f"fingerprint is {laptop_bundle.fingerprint}" in wrong.stderr
    stick = _linked_copy(laptop_bundle, tmp_path)
    model = next((stick / "models").glob("*.gguf"))
    model.unlink()
    missing = _edgemed("bundle", "install", str(stick), "--prefix", str(tmp_path / "p"))
    assert missing.returncode == 1
    assert f"models/{model.name} is missing" in missing.stderr
    assert not (tmp_path / "p").exists()


def test_bundle_check_reports_an_intact_bundle(laptop_bundle: BuiltBundle) -> None:
    result = _edgemed("bundle", "check", str(laptop_bundle.directory))
    assert result.returncode == 0, result.stderr
    assert "Intact" in result.stdout
    assert laptop_bundle.fingerprint in result.stdout


def _platform(wheel: str) -> tuple[str, str, str]:
    python, abi, platform = wheel[: -len(".whl")].split("-")[-3:]
    return python, abi, platform


def test_the_pi5_bundle_is_aarch64_and_complete(pi5_bundle: BuiltBundle, tmp_path: Path) -> None:
    root = pi5_bundle.directory
    manifest = read_bundle(root)
    target = find_target("pi5")
    assert manifest.target.machine == "aarch64"
    assert manifest.llama.kind == "sdist"
    assert manifest.llama.cmake_args == target.cmake_args
    assert "dotprod" in manifest.llama.cmake_args
    wheels = sorted(os.listdir(root / "wheels"))
    for wheel in wheels:
        _python, abi, platform = _platform(wheel)
        assert platform == "any" or "aarch64" in platform, wheel
        assert abi in ("none", "abi3", "cp311"), wheel
    compiled = [w for w in wheels if _platform(w)[2] != "any"]
    names = {w.split("-")[0].lower() for w in compiled}
    assert {"numpy", "onnxruntime", "sqlcipher3", "tokenizers", "cmake", "ninja"} <= names
    # Everything the Pi's pip will ask for resolves from the stick alone: the runtime, llama.cpp's
    # own requirements and its build requirements (scikit-build-core, cmake, ninja).
    runtime, build = source_requirements(root / manifest.llama.file)
    wanted = [r for r in manifest.requirements if not r.startswith("llama-cpp-python")]
    command = [sys.executable, "-m", "pip", "--isolated", "install", "--dry-run", "--quiet"]
    command += ["--ignore-installed", "--no-index", "--find-links", str(root / "wheels")]
    command += ["--only-binary", ":all:", "--target", str(tmp_path / "t")]
    for tag in target.platform_tags():
        command += ["--platform", tag]
    command += ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]
    resolved = subprocess.run(
        offline(command + wanted + runtime + build),
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
        check=False,
    )
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr


def test_a_pi5_bundle_is_refused_on_this_x86_64_machine(
    pi5_bundle: BuiltBundle, tmp_path: Path
) -> None:
    result = _edgemed("bundle", "install", str(pi5_bundle.directory), "--prefix", str(tmp_path))
    assert result.returncode == 1
    assert "This bundle is for pi5 (aarch64, Python 3.11)" in result.stderr
    assert not (tmp_path / "releases").exists()


def test_build_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "old-bundle.txt").write_text("keep me")
    with pytest.raises(BundleError, match="not empty"):
        build_bundle(BuildRequest(find_target("pi5"), tmp_path, None))
    assert (tmp_path / "old-bundle.txt").read_text() == "keep me"


def test_a_target_python_missing_here_is_named() -> None:
    target = find_target("pi5").with_versions("3.99", None)
    with pytest.raises(BundleError, match=r"needs python3\.99"):
        target_python(target)


def test_an_unknown_target_lists_the_known_ones(tmp_path: Path) -> None:
    result = _edgemed("bundle", "build", "--target", "pi3", "--out", str(tmp_path / "b"))
    assert result.returncode == 2
    assert "jetson-orin-nano, laptop, pi4, pi5" in result.stderr


def test_installing_the_same_bundle_again_keeps_the_release_in_use(installed: Installed) -> None:
    before = installed.release
    config = before / "pyvenv.cfg"
    stamp = config.stat().st_ino
    result = subprocess.run(
        offline([EDGEMED, "bundle", "install", str(installed.bundle.directory),
                 "--prefix", str(installed.prefix), "--data-dir", str(installed.data_dir)]),
        capture_output=True,
        text=True,
        env=clean_environment(),
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "already the current release" in result.stderr
    assert installed.release == before
    assert config.stat().st_ino == stamp  # not torn down and rebuilt under a running app


def test_the_installer_runs_from_the_wheel_with_the_standard_library_only(
    laptop_bundle: BuiltBundle,
) -> None:
    """On a blank device nothing but Python is installed: -S keeps every site-packages away."""
    wheel = next((laptop_bundle.directory / "wheels").glob("edgemed-*.whl"))
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from edgemed.bundle.installer import main; sys.exit(main(['--help']))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--rules-only" in result.stdout

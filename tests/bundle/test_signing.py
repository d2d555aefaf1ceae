"""Bundles are signed by the deployer and checked against a pinned key (issue 13, row 7).

Small bundles made here with the project's own list writer, so these run in a second; the real
bundles of test_bundle.py go through the same checks.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edgemed.bundle import ed25519, installer, keys
from edgemed.bundle.installer import InstallRequest, install_bundle
from edgemed.bundle.manifest import (
    CHECKSUMS,
    MANIFEST,
    SIGNATURE,
    BundleManifest,
    BundleTampered,
    LlamaBuild,
    TargetFacts,
    check_bundle,
    describe,
    write_lists,
)
from edgemed.bundle.signing import SignatureError, parse_public_key, public_key_pem, verify
from tests.bundle.conftest import clean_environment

EDGEMED = str(Path(sys.executable).with_name("edgemed"))


def _lists(root: Path, signer: keys.DeployerKey | None) -> str:
    """Write bundle.json and SHA256SUMS exactly as `bundle build` does (and sign, if a key)."""
    listed = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).as_posix() not in (MANIFEST, CHECKSUMS, SIGNATURE)
    )
    manifest = BundleManifest(
        edgemed_version="0.1.0",
        target=TargetFacts("laptop", "laptop", "x86_64", "3.11", "2.36"),
        llama=LlamaBuild("none"),
        requirements=("demo==1.0",),
        files=tuple(describe(root, p) for p in listed),
    )
    printed = write_lists(root, manifest)
    if signer is not None:
        signer.sign_file(root / CHECKSUMS)
    return printed


@pytest.fixture
def deployer(tmp_path: Path) -> keys.DeployerKey:
    return keys.generate(tmp_path / "keys")


@pytest.fixture
def stick(tmp_path: Path, deployer: keys.DeployerKey) -> Path:
    root = tmp_path / "stick"
    (root / "wheels").mkdir(parents=True)
    with zipfile.ZipFile(root / "wheels" / "demo-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("demo/__init__.py", "VALUE = 1\n")
    (root / "install.sh").write_text("#!/bin/sh\necho install\n")
    (root / "README.txt").write_text("a bundle\n")
    _lists(root, deployer)
    return root


def _sha256sum_ok(root: Path) -> bool:
    run = subprocess.run(
        ["sha256sum", "--quiet", "--strict", "-c", CHECKSUMS], cwd=root, capture_output=True
    )
    return run.returncode == 0


def test_a_pth_added_to_a_wheel_with_the_lists_rebuilt_is_refused(
    stick: Path, deployer: keys.DeployerKey
) -> None:
    """The attack of the issue: checksums pass, `sha256sum -c` passes, the signature does not."""
    assert check_bundle(stick, deployer.public).files
    wheel = stick / "wheels" / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("demo-payload.pth", "import os; os.system('id > /tmp/owned')\n")
    _lists(stick, None)  # the project's own writer; the attacker has no private key
    assert _sha256sum_ok(stick)  # what a technician's check alone would say
    assert check_bundle(stick, allow_unsigned=True)  # checksums cannot tell
    with pytest.raises(SignatureError, match="does not carry a valid signature"):
        check_bundle(stick, deployer.public)
    public = deployer.path.with_name(keys.PUBLIC_NAME)
    result = subprocess.run(
        [EDGEMED, "bundle", "check", str(stick), "--deployer-key", str(public)],
        capture_output=True,
        text=True,
        env=clean_environment(),
        check=False,
    )
    assert result.returncode == 1
    assert "does not carry a valid signature" in result.stderr
    assert "Intact" not in result.stdout


def test_an_intact_signed_bundle_passes_and_names_its_signer(
    stick: Path, deployer: keys.DeployerKey
) -> None:
    public = deployer.path.with_name(keys.PUBLIC_NAME)
    result = subprocess.run(
        [EDGEMED, "bundle", "check", str(stick), "--deployer-key", str(public)],
        capture_output=True,
        text=True,
        env=clean_environment(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"Signed by the deployer key {deployer.id}" in result.stdout
    assert "Intact" in result.stdout
    # The technician can check the same with the device's own openssl, before running anything.
    if shutil.which("openssl"):
        openssl = subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(public), "-rawin",
             "-in", str(stick / CHECKSUMS), "-sigfile", str(stick / SIGNATURE)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert openssl.returncode == 0, openssl.stdout + openssl.stderr


def test_an_unsigned_bundle_is_refused_unless_explicitly_allowed(
    stick: Path, deployer: keys.DeployerKey
) -> None:
    (stick / SIGNATURE).unlink()
    with pytest.raises(SignatureError, match="is not signed"):
        check_bundle(stick, deployer.public)
    with pytest.raises(SignatureError, match="No deployer key is pinned"):
        check_bundle(stick)
    result = subprocess.run(
        [EDGEMED, "bundle", "check", str(stick), "--allow-unsigned", "--prefix", str(stick.parent)],
        capture_output=True,
        text=True,
        env=clean_environment(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING: --allow-unsigned: who made this bundle is NOT checked" in result.stderr


def test_a_key_carried_on_the_stick_is_refused(stick: Path, deployer: keys.DeployerKey) -> None:
    on_stick = stick / "deployer.pub"
    on_stick.write_text(public_key_pem(deployer.public))
    with pytest.raises(SignatureError, match="proves nothing"):
        installer.trusted_key(on_stick, stick.parent / "prefix", stick)


def _resign(root: Path, signer: keys.DeployerKey, text: str) -> None:
    (root / CHECKSUMS).write_text(text)
    signer.sign_file(root / CHECKSUMS)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t: t + "0" * 64 + "  wheels/extra-1.0-py3-none-any.whl\n", id="extra"),
        pytest.param(lambda t: t + "\n", id="blank-line"),
        pytest.param(lambda t: t.replace("  README.txt", " *README.txt"), id="binary-marker"),
        pytest.param(lambda t: t + t.splitlines(keepends=True)[0], id="duplicate"),
        pytest.param(lambda t: t.rstrip("\n"), id="no-final-newline"),
        pytest.param(lambda t: t + "garbage\n", id="garbage"),
        pytest.param(lambda t: "\\" + t, id="escaped-name"),
    ],
)
def test_sha256sums_is_parsed_strictly(
    stick: Path, deployer: keys.DeployerKey, change: object
) -> None:
    """Even signed by the deployer, a list that is not exactly what we write is refused."""
    original = (stick / CHECKSUMS).read_text()
    assert callable(change)
    _resign(stick, deployer, change(original))
    with pytest.raises(BundleTampered):
        check_bundle(stick, deployer.public)


def test_bundle_check_fails_whenever_sha256sum_c_fails(
    stick: Path, deployer: keys.DeployerKey
) -> None:
    original = (stick / CHECKSUMS).read_text()
    extra = original + "0" * 64 + "  wheels/not-there-1.0-py3-none-any.whl\n"
    _resign(stick, deployer, extra)
    assert not _sha256sum_ok(stick)
    with pytest.raises(BundleTampered, match="does not list"):
        check_bundle(stick, deployer.public)
    # A line dropped from SHA256SUMS: sha256sum -c still passes, but the lists disagree.
    dropped = "".join(line for line in original.splitlines(True) if "README" not in line)
    _resign(stick, deployer, dropped)
    with pytest.raises(BundleTampered, match=r"README.txt is not in SHA256SUMS"):
        check_bundle(stick, deployer.public)


def test_install_copies_to_local_disk_and_checks_the_copy(
    stick: Path, deployer: keys.DeployerKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stick that answers differently on the second read cannot slip a file in."""
    prefix = tmp_path / "opt"
    seen: list[Path] = []
    monkeypatch.setattr(installer, "_check_device", lambda manifest, python: None)

    def installed_from(request: InstallRequest, *_args: object) -> None:
        seen.append(request.bundle)
        assert (request.bundle / "wheels" / "demo-1.0-py3-none-any.whl").is_file()
        return None

    monkeypatch.setattr(installer, "_install_checked", installed_from)
    public = deployer.path.with_name(keys.PUBLIC_NAME)
    install_bundle(InstallRequest(stick, prefix, deployer_key=public), report=lambda _l: None)
    (copy,) = seen
    assert copy.parent == prefix and copy.name.startswith(".incoming-")
    assert not copy.exists()  # removed once installed
    assert installer.pinned_key_file(prefix).read_text() == public.read_text()
    # Now the stick changes a wheel right after the first check (lists untouched).
    real_check = installer.check_bundle
    calls = []

    def check_then_swap(directory: Path, *args: object, **kwargs: object) -> BundleManifest:
        manifest = real_check(directory, *args, **kwargs)  # type: ignore[arg-type]
        calls.append(directory)
        if len(calls) == 1:
            wheel = stick / "wheels" / "demo-1.0-py3-none-any.whl"
            data = bytearray(wheel.read_bytes())
            data[10] ^= 0xFF
            wheel.write_bytes(bytes(data))
        return manifest

    monkeypatch.setattr(installer, "check_bundle", check_then_swap)
    with pytest.raises(BundleTampered, match="does not match its sha256"):
        install_bundle(InstallRequest(stick, prefix), report=lambda _l: None)  # pinned key now
    assert [p for p in prefix.iterdir() if p.name.startswith(".incoming")] == []


def test_the_copy_stops_at_the_listed_size(tmp_path: Path) -> None:
    big = tmp_path / "model.gguf"
    with big.open("wb") as stream:
        stream.truncate(50 * 1024 * 1024)  # sparse: 50 MB served where 1 kB is listed
    target = tmp_path / "copy.gguf"
    with pytest.raises(BundleTampered, match="changed while it was copied"):
        installer._copy_bounded(big, target, 1024)
    assert target.stat().st_size == 1025


def test_keygen_writes_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    key = keys.generate(tmp_path / "k")
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    public = key.path.with_name(keys.PUBLIC_NAME)
    assert parse_public_key(public.read_text(), str(public)) == key.public
    with pytest.raises(Exception, match="never overwritten"):
        keys.generate(tmp_path / "k")
    assert keys.load(key.path).public == key.public
    key.path.chmod(0o644)
    with pytest.raises(Exception, match="other accounts"):
        keys.load(key.path)


# RFC 8032, 7.1: TEST 1, TEST 2 and TEST 3.
RFC_VECTORS = [
    (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
        "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
        "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290"
        "ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("public", "message", "signature"), RFC_VECTORS)
def test_the_standard_library_verifier_passes_rfc_8032(
    public: str, message: str, signature: str
) -> None:
    key, text, sig = bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature)
    assert ed25519.verify(key, text, sig)
    assert verify(key, text, sig)
    assert not ed25519.verify(key, text + b"!", sig)


def test_the_standard_library_verifier_agrees_with_cryptography() -> None:
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    order = 2**252 + 27742317777372353535851937790883648493
    for size in (0, 1, 64, 1000):
        message = hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1)
        signature = private.sign(message)
        assert ed25519.verify(public, message, signature) and verify(public, message, signature)
        for index in (0, 31, 32, 63):
            bad = bytearray(signature)
            bad[index] ^= 0x01
            assert ed25519.verify(public, message, bytes(bad)) is verify(
                public, message, bytes(bad)
            )
            assert not ed25519.verify(public, message, bytes(bad))
        # S + L is the same point equation but a malleated signature: both refuse it.
        s = int.from_bytes(signature[32:], "little") + order
        malleated = signature[:32] + s.to_bytes(32, "little")
        assert not ed25519.verify(public, message, malleated)
        assert not verify(public, message, malleated)
    assert not ed25519.verify(b"\xff" * 32, b"", b"\x00" * 64)
    assert not ed25519.verify(public, b"", b"short")


def test_the_installer_verifies_with_the_standard_library_only(
    stick: Path, deployer: keys.DeployerKey, tmp_path: Path
) -> None:
    """`python -I -S`: no cryptography on a blank device; the pure verifier decides."""
    repo = Path(__file__).resolve().parents[2]
    public = deployer.path.with_name(keys.PUBLIC_NAME)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from pathlib import Path;"
        "from edgemed.bundle.manifest import check_bundle;"
        "from edgemed.bundle.signing import read_public_key;"
        "check_bundle(Path(sys.argv[2]), read_public_key(Path(sys.argv[3])));"
        "print('cryptography' in sys.modules)"
    )
    command = [sys.executable, "-I", "-S", "-c", code, str(repo), str(stick), str(public)]
    ok = subprocess.run(command, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "False"
    (stick / "README.txt").write_text("changed\n")
    _lists(stick, None)
    refused = subprocess.run(command, capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "does not carry a valid signature" in refused.stderr

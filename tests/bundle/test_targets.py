"""Bundle targets: the pip tags a device accepts, and llama.cpp flags from its device profile."""

from __future__ import annotations

import gettext
import json
from pathlib import Path

import pytest

from edgemed.bundle.sources import compile_locales
from edgemed.bundle.targets import UnknownTarget, find_target, load_targets
from edgemed.hardware import load_profiles


def test_every_device_profile_has_a_bundle_target_with_its_flags() -> None:
    targets, profiles = load_targets(), load_profiles()
    assert set(targets) == {"laptop", "pi4", "pi5", "jetson-orin-nano"}
    for target in targets.values():
        assert target.cmake_args == profiles[target.profile].cmake_args
    assert "armv8-a" in targets["pi4"].cmake_args  # the A72 has no dot-product instructions
    assert "dotprod" in targets["pi5"].cmake_args
    assert "GGML_CUDA=ON" in targets["jetson-orin-nano"].cmake_args
    assert targets["jetson-orin-nano"].build_environment["CUDACXX"].endswith("nvcc")


def test_platform_tags_cover_every_older_glibc() -> None:
    tags = find_target("pi5").platform_tags()
    assert tags[0] == "manylinux_2_36_aarch64"
    assert tags[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert len(tags) == 36 - 17 + 2
    jetson = find_target("jetson-orin-nano")
    assert jetson.python_tag == "cp310"
    assert jetson.platform_tags()[0] == "manylinux_2_35_aarch64"


def test_another_os_release_changes_python_and_glibc_only() -> None:
    ubuntu = find_target("laptop").with_versions("3.12", "2.39")
    assert (ubuntu.python, ubuntu.python_tag, ubuntu.glibc) == ("3.12", "cp312", "2.39")
    assert ubuntu.cmake_args == find_target("laptop").cmake_args
    with pytest.raises(UnknownTarget, match="not of the form"):
        find_target("laptop").with_versions("three", None)
    with pytest.raises(UnknownTarget, match=r"older than 2\.17"):
        find_target("laptop").with_versions(None, "2.5")


def test_translations_are_compiled_into_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "locales" / "fr" / "LC_MESSAGES"
    source.mkdir(parents=True)
    (source / "edgemed.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Unlock"\nmsgstr "Déverrouiller"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("EDGEMED_LOCALES", str(tmp_path / "locales"))
    (compiled,) = compile_locales(tmp_path / "share")
    assert compiled == tmp_path / "share" / "fr" / "LC_MESSAGES" / "edgemed.mo"
    with compiled.open("rb") as stream:
        assert gettext.GNUTranslations(stream).gettext("Unlock") == "Déverrouiller"


# /proc/cpuinfo as each board's kernel prints it (the Features line of one core).
_PI4_CPUINFO = "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
_PI5_CPUINFO = (
    "processor\t: 0\nBogoMIPS\t: 108.00\n"
    "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm "
    "lrcpc dcpop asimddp\n"
)


@pytest.mark.parametrize("target_id", ["pi5", "jetson-orin-nano"])
def test_a_dotprod_bundle_is_refused_on_a_pi4_cpu(target_id: str, tmp_path: Path) -> None:
    """The pi5 and Jetson flags compile for armv8.2-a dot product: on a Pi 4's Cortex-A72 the
    build would pass and the first prompt die of SIGILL (seen under qemu), so the installer
    refuses first, and names the target to build instead."""
    from edgemed.bundle.installer import check_cpu
    from edgemed.bundle.manifest import BundleError, TargetFacts

    target = find_target(target_id)
    assert "asimddp" in target.cpu_features
    facts = TargetFacts(
        target.id,
        target.profile,
        target.machine,
        target.python,
        target.glibc,
        cpu_features=target.cpu_features,
    )
    pi4, pi5 = tmp_path / "pi4", tmp_path / "pi5"
    pi4.write_text(_PI4_CPUINFO)
    pi5.write_text(_PI5_CPUINFO)
    with pytest.raises(BundleError) as refused:
        check_cpu(facts, pi4)
    assert "asimddp" in refused.value.message and "pi4" in (refused.value.hint or "")
    check_cpu(facts, pi5)  # the board it is for
    check_cpu(facts, tmp_path / "absent")  # a kernel that does not say: nothing refused


def test_a_pi4_bundle_runs_on_any_arm64_cpu_and_the_facts_travel_in_bundle_json(
    tmp_path: Path,
) -> None:
    from edgemed.bundle.installer import check_cpu
    from edgemed.bundle.manifest import TargetFacts

    pi4 = find_target("pi4")
    assert pi4.cpu_features == ()
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(_PI4_CPUINFO)
    check_cpu(TargetFacts("pi4", "pi4", "aarch64", "3.11", "2.36"), cpuinfo)
    facts = TargetFacts("pi5", "pi5", "aarch64", "3.11", "2.36", cpu_features=("asimddp",))
    assert TargetFacts.from_json(json.loads(json.dumps(facts.to_json()))) == facts

"""`edgemed doctor`: the advice for recorded Pi 4, Pi 5, Jetson Orin Nano and laptop facts."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from edgemed.cli import main
from edgemed.hardware import (
    Advice,
    SystemFacts,
    SystemRecord,
    advice_for,
    load_profiles,
    parse_facts,
)

FACTS = Path(__file__).parent / "facts"


def recorded(name: str, offload: bool | None = None) -> SystemFacts:
    record = SystemRecord.from_json((FACTS / f"{name}.json").read_text())
    return parse_facts(record, llama_gpu_offload=offload)


def test_every_profile_loads() -> None:
    profiles = load_profiles()
    assert set(profiles) == {"pi4", "pi5", "jetson-orin-nano", "laptop"}
    for profile in profiles.values():
        assert profile.argon2_memory_kib >= 65536 and profile.cmake_args


def test_pi4_facts() -> None:
    facts = recorded("pi4-4gb")
    assert facts.cpu_model == "Cortex-A72" and facts.is_arm
    assert facts.simd == ("NEON",) and facts.gpus == ()


def test_pi4_gets_the_small_model_on_four_threads_and_a_dotprod_warning() -> None:
    advice = advice_for(recorded("pi4-4gb"))
    assert advice.profile.id == "pi4"
    assert advice.model_id == "smollm2-135m-instruct-q4_1"
    assert (advice.threads, advice.context, advice.gpu_layers) == (4, 2048, 0)
    assert advice.quant == "Q4_0" and advice.backend == "cpu" and advice.fallback_reason == ""
    assert any("dot-product" in w for w in advice.warnings)
    assert "armv8-a" in advice.cmake_args


def test_pi5_gets_the_medium_model() -> None:
    facts = recorded("pi5-8gb")
    assert facts.cpu_model == "Cortex-A76" and "dotprod" in facts.simd
    advice = advice_for(facts)
    assert advice.profile.id == "pi5" and advice.tier == "medium"
    assert advice.model_id == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    assert not any("dot-product" in w for w in advice.warnings)
    assert "dotprod" in advice.cmake_args


def test_jetson_offloads_every_layer_to_cuda_when_llama_cpp_can() -> None:
    facts = recorded("jetson-orin-nano-8gb", offload=True)
    assert facts.gpus[0].kind == "jetson" and facts.cpu_model == "Cortex-A78AE"
    advice = advice_for(facts)
    assert advice.profile.id == "jetson-orin-nano"
    assert (advice.backend, advice.gpu_layers, advice.threads) == ("cuda", 999, 6)
    assert advice.tier == "large" and "GGML_CUDA=ON" in advice.cmake_args


def test_jetson_with_a_cpu_only_build_says_why_it_falls_back() -> None:
    advice = advice_for(recorded("jetson-orin-nano-8gb", offload=False))
    assert advice.backend == "cpu" and advice.gpu_layers == 0
    assert "no GPU support" in advice.fallback_reason
    assert "CMAKE_ARGS" in advice.fallback_reason and "GGML_CUDA=ON" in advice.fallback_reason


def test_jetson_profile_without_a_visible_gpu() -> None:
    facts = replace(recorded("jetson-orin-nano-8gb", offload=True), gpus=())
    advice = advice_for(facts, "jetson-orin-nano")
    assert advice.backend == "cpu" and "JetPack" in advice.fallback_reason


def test_laptop_gpu_too_small_for_the_model_falls_back_with_a_reason() -> None:
    facts = recorded("laptop-rtx3050-cuda", offload=True)
    assert facts.gpus[0].memory_mb == 4096
    assert advice_for(facts).backend == "cuda"
    small_gpu = replace(facts, gpus=(replace(facts.gpus[0], memory_mb=1024),))
    advice = advice_for(small_gpu)
    assert advice.backend == "cpu" and "1024 MB" in advice.fallback_reason


def test_two_core_laptop_gets_the_medium_model_at_most() -> None:
    advice = advice_for(recorded("laptop-dev-2core"))
    assert advice.profile.id == "laptop" and advice.threads == 2
    assert advice.tier == "medium"


def test_sixteen_core_desktop_gets_a_thread_per_physical_core() -> None:
    """32 logical CPUs are 16 cores with two hyper-threads each: llama.cpp gets 16 threads."""
    facts = recorded("desktop-16core-32thread")
    assert (facts.physical_cores, facts.logical_cores) == (16, 32)
    assert "AVX-512" in facts.simd
    advice = advice_for(facts)
    assert advice.profile.id == "laptop" and advice.threads == 16
    assert advice.tier == "large"
    # A 64-core host seen through a 16-CPU container: never more threads than usable CPUs.
    record = SystemRecord.from_json((FACTS / "desktop-16core-32thread.json").read_text())
    squeezed = parse_facts(replace(record, physical_cores=64, logical_cores=12))
    assert advice_for(squeezed).threads == 12


def test_physical_cores_come_from_the_cpu_topology(tmp_path: Path) -> None:
    from edgemed.hardware.facts import physical_cores_of

    for cpu in range(8):  # 2 packages x 2 cores x 2 hyper-threads
        topology = tmp_path / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text(f"{cpu // 4}\n")
        (topology / "core_id").write_text(f"{cpu % 2}\n")
    assert physical_cores_of(list(range(8)), tmp_path) == 4
    assert physical_cores_of([0, 2], tmp_path) == 1  # two threads of one core
    assert physical_cores_of([0, 1, 4], tmp_path) == 3
    assert physical_cores_of([9], tmp_path) == 0  # unknown: the caller falls back to psutil


def test_old_laptop_without_avx2_gets_the_small_model() -> None:
    advice = advice_for(recorded("laptop-old-no-avx2"))
    assert advice.tier == "small" and any("AVX2" in w for w in advice.warnings)


def test_too_little_memory_means_rules_only() -> None:
    facts = replace(recorded("pi4-2gb"), available_ram_mb=200)
    advice: Advice = advice_for(facts)
    assert advice.model_id is None and advice.tier == "none"
    assert any("rules-only" in w for w in advice.warnings)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(args)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_doctor_on_this_machine(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, output = _run(["doctor", "--record", str(tmp_path / "me.json")], capsys)
    assert code == 0 and "Advice (" in output and "Threads:" in output
    # This machine has no GPU: the report says it runs on the CPU.
    assert "Runs on: CPU" in output
    code, output = _run(["doctor", "--json", "--facts", str(tmp_path / "me.json")], capsys)
    report = json.loads(output)
    assert report["advice"]["threads"] >= 1 and report["facts"]["ram_mb"] > 0


def test_doctor_json_for_a_recorded_pi(capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _run(["doctor", "--json", "--facts", str(FACTS / "pi5-8gb.json")], capsys)
    assert code == 0
    report = json.loads(output)
    assert report["advice"]["profile"] == "pi5"
    assert report["advice"]["model"] == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    assert "asimddp" in report["facts"]["cpu_features"]


def test_doctor_refuses_an_unknown_profile(capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _run(["doctor", "--profile", "toaster"], capsys)
    assert code == 2 and "Unknown profile" in output

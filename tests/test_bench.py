"""The benchmarks still run (bench/run_all.py --quick: tiny settings, not timed)."""

import subprocess
import sys

from conftest import REPO


def test_bench_scripts_run_quickly():
    done = subprocess.run([sys.executable, str(REPO / "bench" / "run_all.py"), "--quick"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    for title in ("1. Check latency", "3. Generation speed", "4. The Python 3.11 SIGINT trap",
                  "fixed cost", "| tiny | batched |"):
        assert title in done.stdout, done.stdout
    assert "| tiny | batched | 8 | 2 |" in done.stdout and "| yes |" in done.stdout, done.stdout


def test_generation_llama_prints_one_json_object():
    """The Part 3 bench's fields, on the tiny Llama only (the SmolLM2 run takes minutes)."""
    import json

    done = subprocess.run([sys.executable, str(REPO / "bench" / "generation_llama.py"), "--json",
                           "--models", "tiny", "--new-tokens", "3", "--rounds", "1"],
                          cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    for field in ("prompt_tokens", "new_tokens", "hf_tokens_per_s", "ours_tokens_per_s", "ratio",
                  "hf_first_token_s", "ours_first_token_s", "load_before", "load_after",
                  "bytes_per_token", "stream_gb_s", "ours_ms_per_token"):
        assert field in result, field
    assert result["same_tokens"] is True and result["ours_path"] == "compiled", result


def test_fresh_margins_prints_one_json_object():
    """bench/fresh_margins.py on two cheap katas: kata 3 measured (its worst ratio under 1),
    kata 1 judged without tolerances (not measured), no draw failed."""
    import json

    done = subprocess.run([sys.executable, str(REPO / "bench" / "fresh_margins.py"), "--katas", "1,3",
                           "--draws", "3"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    three, one = result["katas"]["3"], result["katas"]["1"]
    assert three["measured"] and 0 <= three["worst"] < 1 and three["failed"] == [], three
    assert not one["measured"] and "worst" not in one and one["failed"] == [], one
    assert {"load_before", "load_after", "draws", "seed"} <= set(result)


def test_check_steps_shows_a_checks_tests_and_its_end():
    """bench/check_steps.py on a cheap kata: its tests' durations, when the child ended and the
    parent judged (kata 3 names no step and has no answer ahead: none shown)."""
    done = subprocess.run([sys.executable, str(REPO / "bench" / "check_steps.py"), "3"], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "this checker, run 1: " in done.stdout and ", pass, child CPU " in done.stdout, done.stdout
    assert "child ended" in done.stdout and "parent judged" in done.stdout, done.stdout
    assert "    test_matches_gpt2_ln_1: " in done.stdout, done.stdout


def test_floor_of_a_later_kata_is_its_spec_run_once(tmp_path):
    """bench/floor.py 13: kata 13's spec.run with the reference solution, once, in a bare process
    (the floor every kata past Part 1 gets); a wrong reference would fail it."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from common import env_for, floor, solved_course
    finally:
        sys.path.pop(0)
    course = solved_course(tmp_path / "course")
    command, extra = floor(course, 13)
    done = subprocess.run(command, cwd=course, env=env_for(course, **extra), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    (course / "katas" / "step_13.py").write_text("def RMSNorm(*args, **kwargs):\n    raise ValueError('no')\n")
    broken = subprocess.run(command, cwd=course, env=env_for(course, **extra), capture_output=True,
                            text=True, timeout=600)
    assert broken.returncode != 0

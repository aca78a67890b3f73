"""The background warm-up (checker/play/warmer.py): it starts on a learner's command, runs one at
a time at idle priority, says what it is doing, leaves no process behind, never touches the
learner's progress, and is easy to switch off. Whether it keeps a check fast is a benchmark's
question (bench/cold_start.py --part warmer), not a timed test's.

Each test gets its own HOME (the warm-up's state lives in ~/.cache/kata/warm) and an empty MAX
cache, so that MAX's warm stamp from `kata setup` does not tell the warm-up there is nothing to do.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import kata_env, run_kata_cli

from checker.play import warmer

HANGS = "import time\ntime.sleep(600)\n"  # a reference solution that keeps the warm-up on kata 1


@pytest.fixture
def warm_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "max-cache").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MODULAR_CACHE_DIR", str(tmp_path / "max-cache"))
    monkeypatch.delenv("MODULAR_DERIVED_PATH", raising=False)
    monkeypatch.setenv("KATA_NO_WARM", "0")
    yield home
    warmer.stop()
    _wait(lambda: warmer.running_pid() is None, 20)


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def _hanging_course(course: Path) -> Path:
    """The course whose kata 1 reference solution sleeps for ten minutes (its limit raised to
    match), so that the warm-up is caught in the middle of a check."""
    curriculum = yaml.safe_load((course / "curriculum.yaml").read_text())
    first = curriculum["katas"][0]
    first["time_limit_s"] = 900
    (course / "curriculum.yaml").write_text(yaml.safe_dump(curriculum, sort_keys=False))
    (course / first["folder"] / "solution.py").write_text(HANGS)
    return course


def _descendants(pid: int) -> set[int]:
    """Every live process started by `pid`, at any depth, whatever session it moved to."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        children = {child for child, of in parents.items() if of == parent}
        todo.extend(children - found)
        found |= children
    return found


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def _started_on_kata_1(course: Path) -> int:
    code, _, err = run_kata_cli(course)
    assert code == 0, err
    assert _wait(lambda: warmer.read_state().get("current") == 1, 60), warmer.read_state()
    pid = warmer.running_pid()
    assert pid is not None
    assert _wait(lambda: any("pytest" in _cmdline(p) for p in _descendants(pid)), 60)
    return pid


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_first_command_starts_one_warmup_that_says_what_it_does(course, warm_home):
    pid = _started_on_kata_1(_hanging_course(course))
    code, out, err = run_kata_cli(course)  # a second command: the same warm-up, not a second one
    assert code == 0
    assert warmer.running_pid() == pid
    warmups = [p for p in Path("/proc").iterdir() if p.name.isdigit()
               and f"checker.play.background_warm {course}" in _cmdline(int(p.name))]
    assert len(warmups) == 1, [_cmdline(int(p.name)) for p in warmups]
    assert "now kata 1, Model configuration" in err and "0 of" in err, err
    assert "KATA_NO_WARM=1" in err and "kata --no-warm" in err


def test_warmup_and_its_checks_run_at_idle_priority(course, warm_home):
    pid = _started_on_kata_1(_hanging_course(course))
    for process in {pid, *_descendants(pid)}:
        assert os.sched_getscheduler(process) == os.SCHED_IDLE, _cmdline(process)


def test_killed_warmup_leaves_no_process_behind(course, warm_home):
    pid = _started_on_kata_1(_hanging_course(course))
    children = _descendants(pid)
    os.kill(pid, signal.SIGKILL)  # no chance to clean up: its checks must end on their own
    assert _wait(lambda: not any(_alive(p) for p in children | {pid}), 15), \
        [_cmdline(p) for p in children if _alive(p)]


def test_no_warm_flag_stops_a_running_warmup_and_starts_none(course, warm_home):
    pid = _started_on_kata_1(_hanging_course(course))
    children = _descendants(pid)
    code, out, err = run_kata_cli(course, "--no-warm", "list")
    assert code == 0
    assert "Stopped the background warm-up." in err
    assert _wait(lambda: not any(_alive(p) for p in children | {pid}), 15)
    assert "Warming up" not in err
    run_kata_cli(course, "--no-warm")
    time.sleep(2)
    assert warmer.running_pid() is None


def test_environment_variable_switches_it_off(course, warm_home, monkeypatch):
    monkeypatch.setenv("KATA_NO_WARM", "1")
    code, _, err = run_kata_cli(course)
    assert code == 0
    time.sleep(2)
    assert not (warm_home / ".cache" / "kata" / "warm").exists()
    assert "Warming up" not in err


def test_warmup_checks_what_is_left_ends_by_itself_and_leaves_progress_alone(course, warm_home):
    """Every kata but 1 passed: the warm-up checks kata 1's reference solution (no MAX, quick),
    records it, and ends; the learner's progress file is byte for byte what it was."""
    from checker.curriculum import load_curriculum
    from checker.progress import ProgressStore, record_attempt

    curriculum = load_curriculum(course)
    with ProgressStore(course / ".kata").update() as progress:
        for kata in curriculum.katas[1:]:
            record_attempt(progress, kata.number, "pass", None)
    files = {p: p.read_bytes() for p in (course / ".kata").rglob("*") if p.is_file()}
    env = kata_env(course)
    proc = subprocess.run([sys.executable, "-m", "checker.play.background_warm", str(course)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    state = warmer.read_state()
    assert state["plan"] == [1] and state["warmed"]["1"]["status"] == "pass", state
    assert state["pid"] is None and state["current"] is None
    assert {p: p.read_bytes() for p in (course / ".kata").rglob("*") if p.is_file()} == files
    code, _, _ = run_kata_cli(course)  # nothing left to warm: no warm-up starts
    assert code == 0 and warmer.running_pid() is None


def test_state_is_a_cache_a_damaged_file_means_start_over(warm_home):
    folder = warmer.warm_dir()
    folder.mkdir(parents=True)
    (folder / "state.json").write_text("{not json")
    assert warmer.read_state() == {}
    assert warmer.still_to_warm([1, 2, 3], {1}, {}) == [2, 3]
    assert warmer.still_to_warm([1, 2, 3], set(), {"warmed": {"2": {}}}) == [1, 3]
    assert warmer.still_to_warm([1, 2, 3], set(), {"provisioned": True}) == []
    warmer.write_state({"warmed": {"1": {"status": "pass"}}})
    assert json.loads((folder / "state.json").read_text())["warmed"]["1"]["status"] == "pass"


def test_one_state_per_max_cache(warm_home, monkeypatch, tmp_path):
    first = warmer.warm_dir()
    monkeypatch.setenv("MODULAR_CACHE_DIR", str(tmp_path / "another"))
    assert warmer.warm_dir() != first


CONCURRENT_OP = """
import sys
from checker.child import sigint
sigint.install()
import numpy as np
from max.experimental import functional as F
from max.experimental.tensor import Tensor
x = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
got = F.tanh(Tensor(x)).to_numpy()
sys.exit(0 if np.allclose(got, np.tanh(x), atol=1e-6) else 1)
"""


@pytest.mark.cold_max_cache
def test_two_processes_compiling_one_family_at_once_both_succeed(tmp_path):
    """What happens when a learner's check and the warm-up compile the same operation at once, on
    an empty cache: each compiles it (no lock between them), both get the right numbers, and a
    third process then finds it in the cache (measured: 35 s to compile alone, 0.05 s after)."""
    cache = tmp_path / "max-cache"
    cache.mkdir()
    env = {**os.environ, "MODULAR_CACHE_DIR": str(cache), "PYTHONPATH": str(Path(__file__).parents[1])}
    env.pop("MODULAR_DERIVED_PATH", None)
    both = [subprocess.Popen([sys.executable, "-c", CONCURRENT_OP], env=env, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    for proc in both:
        _, err = proc.communicate(timeout=1200)
        assert proc.returncode == 0, err
    began = time.monotonic()
    third = subprocess.run([sys.executable, "-c", CONCURRENT_OP], env=env, capture_output=True,
                           text=True, timeout=600)
    assert third.returncode == 0, third.stderr
    assert "on the fly in 0.0s" in third.stderr or time.monotonic() - began < 30, third.stderr


def _stopped(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
    except OSError:
        return False


def test_warmup_gives_way_to_a_check_of_the_learners_and_then_goes_on(course, warm_home):
    """While the learner's check holds warmer.foreground(), the warm-up's own check is stopped
    (not ended: what MAX half compiled is kept) and says so; released, the same check goes on."""
    pid = _started_on_kata_1(_hanging_course(course))
    checks = {p for p in _descendants(pid) if "pytest" in _cmdline(p)}
    with warmer.foreground():
        assert _wait(lambda: all(_stopped(p) for p in checks), 5), [_cmdline(p) for p in checks]
        assert "waiting while yours runs" in warmer.status_line({1: "Model configuration"})
        time.sleep(1)
        assert all(_stopped(p) for p in checks) and warmer.running_pid() == pid
    assert _wait(lambda: not any(_stopped(p) for p in checks), 5)
    assert all(_alive(p) for p in checks) and warmer.read_state().get("current") == 1


def test_warmup_killed_while_its_check_is_stopped_leaves_nothing(course, warm_home):
    """The warm-up dies (SIGKILL, no clean-up) while the learner's check holds it stopped: its
    own check, stopped, cannot run a handler, so the kernel kills it outright."""
    pid = _started_on_kata_1(_hanging_course(course))
    checks = _descendants(pid)
    with warmer.foreground():
        assert _wait(lambda: any(_stopped(p) for p in checks), 5)
        os.kill(pid, signal.SIGKILL)
        assert _wait(lambda: not any(_alive(p) for p in checks | {pid}), 10), \
            [_cmdline(p) for p in checks if _alive(p)]


def test_a_learners_check_holds_the_foreground_while_it_runs(course, warm_home):
    """`kata check` takes warmer.foreground() for as long as it runs (the warm-up's cue to
    pause), even with the warm-up switched off here, and lets it go when it ends."""
    (course / "katas" / "step_01.py").write_text("import time\ntime.sleep(6)\n")
    env = {**kata_env(course), "KATA_NO_WARM": "1"}
    check = subprocess.Popen([sys.executable, "-c", "from checker.cli import main; main()", "check", "1"],
                             cwd=course, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait(warmer.learner_busy, 30)
    finally:
        check.wait(timeout=120)
    assert not warmer.learner_busy()

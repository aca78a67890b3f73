"""The reliability fault matrix (CONTRIBUTING.md, "The fault matrix"): broken or hostile learner code, and broken
checker inputs. Each row: the verdict it must get (never a pass) and words of its message.

Learner rows start from kata 3's reference solution with one fault put in, so the only thing
wrong is the fault itself. Rows already proven elsewhere are listed there with their test.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import (KATAS, assert_no_traceback, kata_env, messages_of, place_solution, run_kata_cli,
                      solution_path)

from checker.curriculum import load_curriculum
from checker.fixture_files import sha256_of
from checker.check.runner import run_kata

SOLUTION = solution_path(3).read_text()
RESULT = "        return F.layer_norm(x, gamma=self.weight, beta=self.bias, epsilon=self.eps)"
assert RESULT in SOLUTION, "kata 3's solution changed: update the fault matrix"


def _forward(body: str) -> str:
    """Kata 3's solution with forward's body replaced (RESULT still names the right answer)."""
    indented = "\n".join("        " + line for line in body.strip().splitlines())
    return SOLUTION.replace(RESULT, indented.replace("RESULT", RESULT.strip().removeprefix("return ")))


RIGHT = "return RESULT"
# id: (learner source, verdicts allowed, words the message must hold, time limit)
LEARNER_FAULTS = {
    "name_error_at_import": ("undefined_helper()\n" + SOLUTION, {"error", "fail"},
                             ["NameError", "undefined_helper", "line 1"], None),
    "exception_in_forward": (_forward("raise ValueError('shapes do not line up')"), {"fail"},
                             ["ValueError: shapes do not line up", "katas/step_03.py, line"], None),
    "returns_none": (_forward("RESULT"), {"fail"}, ["returned None", "return"], None),
    "returns_numpy": (_forward("return (RESULT).to_numpy()"), {"fail"}, ["numpy array"], None),
    "returns_list": (_forward("return (RESULT).to_numpy().tolist()"), {"fail"},
                     ["expected a MAX Tensor, got list"], None),
    "float64": (_forward("from max.dtype import DType\nreturn (RESULT).cast(DType.float64)"), {"fail"},
                ["float64", "float32"], None),
    "bfloat16": (_forward("from max.dtype import DType\nreturn (RESULT).cast(DType.bfloat16)"), {"fail"},
                 ["bfloat16", "float32"], None),
    "nan": (_forward("return (RESULT) * float('nan')"), {"fail"}, ["NaN or infinite"], None),
    "inf": (_forward("return (RESULT) + float('inf')"), {"fail"}, ["NaN or infinite"], None),
    "infinite_loop_in_forward": (_forward("while True:\n    pass"), {"timeout"},
                                 ["did not finish within 12 seconds"], 12),
    "sleeps_past_the_limit": (_forward("import time\ntime.sleep(3600)\nreturn RESULT"), {"timeout"},
                              ["did not finish within 12 seconds"], 12),
    "prints_megabytes": (_forward("print('x' * 20_000_000)\nreturn RESULT"), {"fail"},
                         ["printed 20.0 MB", "allows 10 MB"], None),
    "prints_megabytes_past_pytest": (
        _forward("import os\nfor _ in range(30):\n    os.system('head -c 1000000 /dev/zero')\n"
                 "return RESULT"),
        {"fail"}, ["printed 30.0 MB"], None),
    "kills_its_own_process": (_forward("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
                              {"error"}, ["before it could report a result"], None),
    "exits_inside_forward": (_forward("import sys\nsys.exit(0)"), {"fail", "error"}, ["sys.exit"], None),
    "writes_into_fixtures": (
        _forward("import os, pathlib\npathlib.Path(os.environ['KATA_ROOT'], 'fixtures', 'golden', "
                 "'step_03.npz').write_bytes(b'')\nreturn RESULT"),
        {"error"}, ["wrote to fixtures/golden/step_03.npz", "does not count"], None),
    "writes_into_progress": (
        _forward("import json, pathlib\nstate = pathlib.Path(__file__).resolve().parents[1] / '.kata'\n"
                 "state.mkdir(exist_ok=True)\n(state / 'progress.json').write_text(json.dumps("
                 "{'version': 1, 'katas': {str(n): {'passed': True} for n in range(1, 13)}}))\n"
                 "return RESULT"),
        {"error"}, ["wrote to .kata/", "does not count"], None),
}


@pytest.mark.parametrize("case", LEARNER_FAULTS, ids=list(LEARNER_FAULTS))
def test_learner_fault(course, case):
    source, verdicts, words, limit = LEARNER_FAULTS[case]
    (course / "katas" / "step_03.py").write_text(source)
    fixtures_before = {p.name: sha256_of(p) for p in (course / "fixtures" / "golden").iterdir()}
    curriculum = load_curriculum(course)
    result = run_kata(curriculum, curriculum.get(3), time_limit_s=limit)
    assert result.status != "pass" and result.status in verdicts, messages_of(result)
    text = messages_of(result)
    for word in words:
        assert word in text, text
    assert "/kata-check-" not in text, text  # paths as the learner knows them, not the copy's
    assert fixtures_before == {p.name: sha256_of(p) for p in (course / "fixtures" / "golden").iterdir()}
    assert not (course / ".kata").exists()


def test_the_same_solution_without_a_fault_passes(course):
    """The matrix's base is right: what fails above fails for its fault alone."""
    (course / "katas" / "step_03.py").write_text(_forward(RIGHT))
    curriculum = load_curriculum(course)
    assert run_kata(curriculum, curriculum.get(3)).status == "pass"


def test_memory_without_bound(course, monkeypatch):
    monkeypatch.setenv("KATA_MEMORY_LIMIT_MB", "1024")
    (course / "katas" / "step_03.py").write_text(
        _forward("junk = []\nwhile True:\n    junk.append(b'x' * 50_000_000)"))
    curriculum = load_curriculum(course)
    started = time.monotonic()
    result = run_kata(curriculum, curriculum.get(3))
    assert result.status == "error", messages_of(result)
    assert "more than 1024 MB of memory" in result.message
    assert time.monotonic() - started < 30


# Checker inputs: what the command says, its exit code, and that nothing is lost.
@pytest.mark.parametrize("args,code,words", [
    (("check", "0"), 2, "no kata 0"),
    (("check", str(KATAS + 1)), 2, f"no kata {KATAS + 1}"),
    (("check", "three"), 2, "is not a valid integer"),
    (("check", "-1"), 2, "No such option"),
    (("hint", str(KATAS + 1)), 2, f"no kata {KATAS + 1}"),
], ids=["zero", "past_the_last", "not_a_number", "negative", "hint_past_the_last"])
def test_bad_kata_numbers(course, args, code, words):
    status, out, err = run_kata_cli(course, *args)
    assert status == code, out + err
    assert words in out + err
    assert_no_traceback(out, err)


@pytest.mark.parametrize("damage", ["truncated", "altered", "missing"])
@pytest.mark.parametrize("name,number", [("golden/step_03.npz", 3), ("weights.npz", 4)])
def test_damaged_fixture(course, damage, name, number):
    path = course / "fixtures" / name
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif damage == "altered":
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    else:
        path.unlink()
    place_solution(course, 1)
    status, out, err = run_kata_cli(course, "check", str(number), "--force")
    assert status in (2, 3) and status != 0, out + err
    assert f"fixtures/{name}" in out + err and "git checkout -- fixtures/" in out + err
    assert_no_traceback(out, err)


def test_ctrl_c_during_a_check(course):
    """The check stops at once, says so, records nothing, and leaves no child process behind."""
    (course / "katas" / "step_01.py").write_text("import time\ntime.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", "from checker.cli import main; main()", "check", "1"],
                            cwd=course, env=kata_env(course), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _children_of(proc.pid):
        time.sleep(0.2)
    children = _children_of(proc.pid)
    assert children, "the check never started its child process"
    time.sleep(1)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "Stopped (Ctrl-C)" in out + err
    assert_no_traceback(out, err)
    time.sleep(0.5)
    assert not [pid for pid in children if _alive(pid)], "the check's child survived Ctrl-C"
    progress = course / ".kata" / "progress.json"
    assert not progress.exists() or json.loads(progress.read_text())["katas"].get("1", {}).get("attempts", 0) == 0


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_killed_check_leaves_nothing_running(course):
    """`kata check` SIGKILLed (terminal closed, out of memory) while the learner's import loops
    forever: its child, and what that child started, end within seconds instead of keeping a
    core busy with no parent."""
    (course / "katas" / "step_03.py").write_text(
        "import subprocess\nsubprocess.Popen(['sleep', '600'])\nwhile True:\n    pass\n")
    proc = subprocess.Popen([sys.executable, "-c", "from checker.cli import main; main()", "check",
                             "3", "--force"], cwd=course, env=kata_env(course),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    started = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(_children_of(c) for c in _children_of(proc.pid)):
            time.sleep(0.2)  # until the learner's import has started its `sleep`
        started = _children_of(proc.pid)
        started += [g for c in started for g in _children_of(c)]
        assert len(started) >= 2, "the check never reached the learner's import"
        time.sleep(1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(pid) for pid in started):
            time.sleep(0.1)
        assert not [pid for pid in started if _alive(pid)], "the check's child outlived it"
    finally:
        for pid in started:  # a failing run must not leave the loop behind either
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

"""checker.check.runner.run_kata on kata 1 (no MAX): right code passes, every kind of broken code does not."""

from __future__ import annotations

import time


from checker.curriculum import load_curriculum
from checker.check.runner import run_kata
from checker.fixture_files import file_sha256
from conftest import messages_of, place_learner, place_solution


def _run(course, learner: str | None = None, **kwargs):
    if learner is None:
        place_solution(course, 1)
    else:
        place_learner(course, learner)
    curriculum = load_curriculum(course)
    return run_kata(curriculum, curriculum.get(1), **kwargs)


def _assert_not_pass(result) -> None:
    """A broken file never passes, and every failed test says why."""
    assert result.status != "pass" and not result.passed
    assert result.message
    for test in result.tests:
        if test["status"] != "pass":
            assert test.get("message"), test


def test_solution_passes(course):
    result = _run(course)
    assert result.status == "pass", messages_of(result)
    assert result.passed and result.kata == 1 and result.slug == "config"
    assert len(result.tests) == 5 and all(t["status"] == "pass" for t in result.tests)
    assert result.tests[-1]["name"] == "test_fresh_inputs"
    assert result.shown_tests[-1]["name"] == "test_on_inputs_made_up_for_this_check"
    assert result.sha256 == file_sha256(course / "katas" / "step_01.py")
    assert result.duration_s > 0


def test_correct_in_another_way_passes(course):
    result = _run(course, "step_01_correct_other_way.py")
    assert result.status == "pass", messages_of(result)


def test_skeleton_fails_naming_missing_fields(course):
    curriculum = load_curriculum(course)
    result = run_kata(curriculum, curriculum.get(1))
    assert result.status == "fail"
    text = messages_of(result)
    for field in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "layer_norm_epsilon"):
        assert field in text


def test_wrong_numbers_fail_naming_the_field(course):
    result = _run(course, "step_01_wrong_numbers.py")
    _assert_not_pass(result)
    assert result.status == "fail"
    failed = [t for t in result.tests if t["status"] != "pass"]
    assert [t["name"] for t in failed] == ["test_defaults_are_gpt2_small"]
    assert "n_head is 16" in failed[0]["message"]
    assert "vocab_size" not in failed[0]["message"]


def test_syntax_error_points_at_the_line(course):
    result = _run(course, "step_01_syntax_error.py")
    _assert_not_pass(result)
    assert result.status == "error"
    assert result.duration_s < 1  # found before pytest and MAX start
    text = messages_of(result)
    assert "SyntaxError" in text and "katas/step_01.py, line 8" in text, text
    lines = text.splitlines()
    code = next(i for i, line in enumerate(lines) if "n_embd: int = (768" in line)
    assert lines[code + 1].strip() == "^", text
    # the caret sits under the opening parenthesis
    assert lines[code + 1].index("^") == lines[code].index("(")


def test_import_error_names_the_module(course):
    result = _run(course, "step_01_import_error.py")
    _assert_not_pass(result)
    assert result.status in ("fail", "error")
    text = messages_of(result)
    assert "gpt2_helpers_that_do_not_exist" in text and "line 3" in text, text


def test_infinite_loop_times_out(course):
    started = time.monotonic()
    result = _run(course, "step_01_infinite_loop.py", time_limit_s=5)
    _assert_not_pass(result)
    elapsed = time.monotonic() - started
    assert result.status == "timeout", messages_of(result)
    assert 5 <= elapsed < 15
    assert "5 seconds" in result.message
    assert result.sha256 == file_sha256(course / "katas" / "step_01.py")


def test_sys_exit_at_import(course):
    result = _run(course, "step_01_sys_exit.py")
    _assert_not_pass(result)
    assert result.status in ("fail", "error")
    assert "sys.exit" in messages_of(result)


def test_os_exit_at_import_is_an_error(course):
    result = _run(course, "step_01_os_exit.py")
    _assert_not_pass(result)
    assert result.status == "error"
    assert "os._exit" in result.message and "exit code 0" in result.message


def test_exit_inside_a_test_is_not_a_pass(course):
    result = _run(course, "step_01_exit_in_test.py")
    _assert_not_pass(result)
    assert result.status == "error", messages_of(result)
    assert "before it could report a result" in result.message


def test_missing_learner_file(course):
    curriculum = load_curriculum(course)
    (course / "katas" / "step_01.py").unlink()
    result = run_kata(curriculum, curriculum.get(1))
    assert result.status == "error" and "git checkout" in result.message


def test_forged_result_file_is_not_trusted(course, tmp_path):
    """Learner code that writes its own 'all passed' result with the token it finds in its
    environment, then exits, gets no pass: the plugin removes both before learner code runs."""
    (course / "katas" / "step_01.py").write_text(
        "import json, os\n"
        "path = os.environ.get('KATA_RESULT_FILE')\n"
        "if path:\n"
        "    with open(path, 'w') as out:\n"
        "        json.dump({'token': os.environ.get('KATA_TOKEN', 'guess'), 'collected': 1, 'exitstatus': 0,\n"
        "                   'tests': [{'name': 't', 'status': 'pass'}]}, out)\n"
        "os._exit(0)\n")
    curriculum = load_curriculum(course)
    result = run_kata(curriculum, curriculum.get(1))
    _assert_not_pass(result)
    assert result.status == "error"

"""`kata check --json` (Exercism's results shape, with scores) and `--junit`, validated against
schemas/check-result.schema.json; the GitHub Classroom recipe that uses them."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml

from checker.curriculum import load_curriculum
from checker.errors import EXIT_FAIL, EXIT_PASS, EXIT_SETUP
from checker.output.junit import to_xml
from checker.output.results_json import all_results, kata_result
from checker.check.verdict import CheckResult
from conftest import (AVAILABLE, RELEASED, REPO, assert_no_traceback, kata_env, place_solution, run_kata_cli,
                      solution_path)

SCHEMA = json.loads((REPO / "schemas" / "check-result.schema.json").read_text())
CURRICULUM = load_curriculum(REPO)


def validate(data: dict) -> dict:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
    return data


def kata(course, *args):
    code, out, err = run_kata_cli(course, *args)
    assert_no_traceback(out, err)
    return code, out, err


def junit_suites(path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    return {suite.find("properties/property[@name='kata']").get("value"): suite for suite in root}


def test_one_kata_json_and_junit_fail_then_pass(course, tmp_path):
    junit = tmp_path / "junit.xml"
    code, out, err = kata(course, "check", "1", "--json", "--points", "10", "--junit", junit)
    assert code == EXIT_FAIL, out + err
    data = validate(json.loads(out))
    assert (data["version"], data["status"], data["kata_status"]) == (3, "fail", "fail")
    assert data["score"] == 0 and data["max_score"] == 10 and data["title"] == "Model configuration"
    tests = {t["name"]: t for t in data["tests"]}
    assert tests["test_defaults_are_gpt2_small"]["status"] == "fail"
    assert "n_head is None" in tests["test_defaults_are_gpt2_small"]["message"]

    suite = junit_suites(junit)["1"]
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == set(tests)  # one testcase per hidden test
    assert int(suite.get("tests")) == len(tests) and int(suite.get("failures")) >= 1
    failure = cases["test_defaults_are_gpt2_small"].find("failure")
    assert failure is not None and "n_head is None" in failure.text
    assert cases["test_is_a_dataclass"].find("failure") is None

    learner = place_solution(course, 1)
    code, out, err = kata(course, "check", "1", "--json", "--points", "10", "--junit", junit)
    assert code == EXIT_PASS, out + err
    data = validate(json.loads(out))
    assert data["status"] == "pass" and data["message"] is None
    assert data["score"] == 10 and sum(t["score"] for t in data["tests"]) == 10
    assert data["sha256"] == hashlib.sha256(learner.read_bytes()).hexdigest()
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "0" and root.get("errors") == "0"


def test_all_katas_json_and_junit(course, tmp_path):
    """A fresh course: kata 1 fails, the others stay locked (Exercism: fail; ours: locked)."""
    junit = tmp_path / "all.xml"
    code, out, err = kata(course, "check", "--all", "--json", "--junit", junit)
    assert code == EXIT_FAIL, out + err
    data = validate(json.loads(out))
    assert data["status"] == "fail" and data["score"] == 0 and data["max_score"] == AVAILABLE
    assert [k["kata"] for k in data["katas"]] == RELEASED
    assert [t["name"] for t in data["tests"]][:2] == ["Kata 1: Model configuration", "Kata 2: Causal mask"]
    assert data["message"] == f"0 of {AVAILABLE} katas pass."
    locked = data["katas"][1]
    assert (locked["status"], locked["kata_status"], locked["tests"]) == ("fail", "locked", [])
    assert "pass kata 1 first" in data["tests"][1]["message"]

    suites = junit_suites(junit)
    assert len(suites) == AVAILABLE
    check = suites["2"].find("testcase[@name='check']")
    assert check.find("skipped") is not None and "locked" in check.find("skipped").get("message")


def test_syntax_error_is_an_exercism_error(course, tmp_path):
    (course / "katas" / "step_01.py").write_text("def broken(:\n")
    junit = tmp_path / "j.xml"
    code, out, err = kata(course, "check", "1", "--json", "--junit", junit)
    assert code == EXIT_FAIL
    data = validate(json.loads(out))
    assert data["status"] == "error" and data["tests"] == [] and "step_01.py" in data["message"]
    error = ET.parse(junit).getroot().find(".//testcase[@name='check']/error")
    assert error is not None and "step_01.py" in error.text


def test_junit_into_a_missing_folder_is_refused_before_checking(course, tmp_path):
    code, out, err = kata(course, "check", "1", "--junit", tmp_path / "nowhere" / "j.xml")
    assert code == EXIT_SETUP and "does not exist" in err
    assert not (course / ".kata" / "progress.json").exists()  # nothing was checked


def _result(status, tests=(), message=None):
    return CheckResult(3, "layer-norm", status, message, [dict(t) for t in tests], 1.5, "a" * 64)


TESTS = [{"name": "test_a", "status": "pass", "message": None, "output": None, "duration_s": 0.1},
         {"name": "test_b", "status": "pass", "message": None, "output": "hi\x1b[31m\x00", "duration_s": 0.2},
         {"name": "test_c", "status": "pass", "message": None, "output": None, "duration_s": 0.3}]


@pytest.mark.parametrize("status,exercism", [("pass", "pass"), ("fail", "fail"), ("error", "error"),
                                             ("timeout", "error"), ("locked", "fail")])
def test_status_mapping_keeps_our_precise_status(status, exercism):
    data = validate(kata_result(_result(status, message="why"), CURRICULUM.get(3)))
    assert data["status"] == exercism and data["kata_status"] == status


@pytest.mark.parametrize("points", [1, 7, 10, 2.5])
def test_test_scores_add_up_to_the_kata_score(points):
    data = validate(kata_result(_result("pass", TESTS), CURRICULUM.get(3), points))
    assert sum(t["score"] for t in data["tests"]) == points  # exactly: no 9.999999
    assert data["score"] == data["max_score"] == points
    failed = kata_result(_result("fail", TESTS[:1] + [{**TESTS[1], "status": "fail", "message": "x"}]),
                         CURRICULUM.get(3), points)
    assert failed["score"] == 0 and all(t["score"] == 0 for t in failed["tests"])


def test_all_results_shape_and_overall_status():
    katas = [kata_result(_result(s, TESTS if s == "pass" else (), "m"), CURRICULUM.get(n))
             for n, s in ((1, "pass"), (2, "timeout"), (3, "pass"))]
    data = validate(all_results(katas))
    assert data["status"] == "error" and data["score"] == 2 and data["max_score"] == 3
    assert data["tests"][1]["status"] == "error" and data["tests"][1]["message"] == "m"


def test_junit_survives_control_characters_and_markup():
    bad = [{**TESTS[0], "status": "fail", "message": "<b>&\x07 boom</b>"}, TESTS[1]]
    xml = to_xml([kata_result(_result("fail", bad), CURRICULUM.get(3))])
    root = ET.fromstring(xml)  # well-formed despite \x00, \x1b and \x07
    failure = root.find(".//testcase[@name='test_a']/failure")
    assert failure.text == "<b>&? boom</b>"
    assert root.find(".//testcase[@name='test_b']/system-out").text.startswith("hi?")


# --- the GitHub Classroom recipe --------------------------------------------------------------

def test_classroom_recipe_grades_every_kata_with_the_same_points():
    config = json.loads((REPO / ".github" / "classroom" / "autograding.json").read_text())
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "classroom.yml").read_text())
    numbers = [k.number for k in CURRICULUM.available]  # the released katas
    points = {int(t["run"].split()[2]): t["points"] for t in config["tests"]}
    assert sorted(points) == numbers and all(p > 0 for p in points.values())
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    graders = {s["id"]: s["run"].split() for s in steps if s.get("run", "").startswith(".github/classroom/grade.sh")}
    assert {int(run[1]): float(run[2]) for run in graders.values()} == points
    reporter = next(s for s in steps if "autograding-grading-reporter" in s.get("uses", ""))
    assert reporter["with"]["runners"].split(",") == list(graders)
    for runner in graders:
        assert f"steps.{runner}.outputs.result" in reporter["env"][f"{runner.upper()}_RESULTS"]


def test_classroom_grader_step_hands_the_reporter_our_json(course, tmp_path):
    """What the reporter reads: base64 JSON in the step's `result` output, valid by our schema."""
    output = tmp_path / "github_output"
    shim = tmp_path / "bin" / "kata"  # the `kata` command, running this checker
    shim.parent.mkdir()
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'from checker.cli import main; main()' \"$@\"\n")
    shim.chmod(0o755)
    env = dict(kata_env(course), GITHUB_OUTPUT=str(output), PYTHONPATH=str(course))
    env["PATH"] = f"{shim.parent}:{env['PATH']}"
    done = subprocess.run([str(REPO / ".github" / "classroom" / "grade.sh"), "1", "10"], cwd=course,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    key, _, value = output.read_text().strip().partition("=")
    data = validate(json.loads(base64.b64decode(value)))
    assert key == "result" and data["max_score"] == 10 and data["score"] == 0
    assert (course / "kata-results" / "kata-01.xml").is_file()


def test_fresh_line_is_the_parents_judgement(course, tmp_path):
    """The line for inputs made up for this check shows the parent's judgement: "not judged"
    beside failing tests (never a tick), a tick once it was made and agreed; terminal, JSON and
    JUnit alike."""
    junit = tmp_path / "junit.xml"
    (course / "katas" / "step_01.py").write_text(
        solution_path(1).read_text().replace(
            "n_head: int = 12", "n_head: int = 13"))
    code, out, err = kata(course, "check", "1")
    assert code == EXIT_FAIL, out + err
    assert "fresh inputs" not in out
    assert "- on inputs made up for this check\n      Not judged: fix the failures above first" in out, out
    code, out, err = kata(course, "check", "1", "--json", "--junit", junit)
    data = validate(json.loads(out))
    assert data["fresh_judgement"] == "not judged"
    tests = {t["name"]: t for t in data["tests"]}
    assert "test_fresh_inputs" not in tests
    fresh = tests["test_on_inputs_made_up_for_this_check"]
    assert (fresh["status"], fresh["test_status"]) == ("fail", "skip")
    assert fresh["message"].startswith("Not judged: fix the failures above first")
    case = junit_suites(junit)["1"].find("testcase[@name='test_on_inputs_made_up_for_this_check']")
    assert case is not None and case.find("skipped") is not None

    place_solution(course, 1)
    code, out, err = kata(course, "check", "1")
    assert code == EXIT_PASS and "✓ on inputs made up for this check" in out, out + err
    code, out, err = kata(course, "check", "1", "--json", "--junit", junit)
    data = validate(json.loads(out))
    assert data["fresh_judgement"] == "agreed"
    assert {t["name"]: t["status"] for t in data["tests"]}["test_on_inputs_made_up_for_this_check"] == "pass"


@pytest.mark.parametrize("judgement,child,shown", [
    ("agreed", "pass", "pass"),
    ("disagreed", "fail", "fail"),  # the runner marks it failed, with why
    ("not judged", "pass", "skip"),  # other tests failed: no judgement, no tick
    ("not judged", "fail", "fail"),  # the learner's code failed on the fresh inputs themselves
])
def test_fresh_line_for_each_judgement(judgement, child, shown):
    from checker.check.verdict import CHILD_TEST, FRESH_LINE, NOT_JUDGED, FreshJudgement, shown_tests

    tests = [{"name": "test_parameters", "status": "fail", "message": "wrong"},
             {"name": CHILD_TEST, "status": child, "message": "why" if child == "fail" else None}]
    line = shown_tests(tests, FreshJudgement(judgement))[-1]
    assert line["name"] == FRESH_LINE and line["status"] == shown
    assert (line["message"] == NOT_JUDGED) == (shown == "skip")
    assert tests[-1]["name"] == CHILD_TEST  # the child's report itself is unchanged


def test_fresh_margin_says_how_close_a_pass_came(solutions):
    """A passing check reports its fresh-input judgement's worst error-to-tolerance ratio (under
    1); a failing one, whose fresh inputs were never judged, reports null."""
    from checker.check.service import check_kata

    kata3 = CURRICULUM.get(3)
    passed = check_kata(CURRICULUM, None, kata3, learner_file=REPO / kata3.solution, deps_dir=solutions)
    data = validate(kata_result(passed, kata3))
    assert data["status"] == "pass" and data["fresh_judgement"] == "agreed", data
    assert isinstance(data["fresh_margin"], float) and 0 <= data["fresh_margin"] < 1, data
    failed = check_kata(CURRICULUM, None, kata3, learner_file=REPO / kata3.file, deps_dir=solutions)
    data = validate(kata_result(failed, kata3))
    assert data["status"] == "fail" and data["fresh_margin"] is None, data
    with pytest.raises(jsonschema.ValidationError):  # a pass is under 1, by definition
        validate(dict(data, fresh_margin=1.5))

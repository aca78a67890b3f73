"""`kata report`: a class of generated learners into a CSV and one self-contained HTML page;
bad and foreign files skipped with their reason; claimed passes their files do not match marked."""

from __future__ import annotations

import csv
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from checker.curriculum import load_curriculum
from checker.errors import EXIT_PASS, EXIT_SETUP
from checker.output.progress_json import export
from checker.classroom.report import build, csv_rows
from checker.classroom.report_html import render
from class_maker import make_class, make_learner
from conftest import KATAS, REPO, assert_no_traceback, kata_env

CURRICULUM = load_curriculum(REPO)


def report(where: Path, *paths) -> tuple[int, str, str, list[dict], str]:
    """Runs `kata report PATHS` in `where`; returns the CSV rows and the HTML too."""
    # an instructor's course is the checker's (KATA_ROOT); the class lies wherever they run it
    done = subprocess.run([sys.executable, "-c", "from checker.cli import main; main()", "report",
                           *map(str, paths), "--csv", str(where / "class.csv"), "--html",
                           str(where / "class.html")], cwd=where, env=kata_env(REPO),
                          capture_output=True, text=True, timeout=120)
    code, out, err = done.returncode, done.stdout, done.stderr
    assert_no_traceback(out, err)
    rows, html = [], ""
    if code == EXIT_PASS:
        rows = list(csv.DictReader((where / "class.csv").open(encoding="utf-8")))
        html = (where / "class.html").read_text(encoding="utf-8")
    return code, out, err, rows, html


@pytest.fixture
def classroom(tmp_path) -> tuple[Path, list[dict]]:
    return tmp_path, make_class(tmp_path / "class", 30, seed=1, tampered=2)


def test_class_folder_to_csv_and_html(classroom):
    where, learners = classroom
    code, out, err, rows, html = report(where, "class")
    assert code == EXIT_PASS, out + err
    assert "30 learners, 0 skipped" in out and "Where the class is stuck" in out
    assert len(rows) == 30  # one row per learner ...
    assert [c for c in rows[0] if c.startswith("kata_")] == [f"kata_{n:02d}" for n in range(1, KATAS + 1)]
    by_name = {r["learner"]: r for r in rows}
    for learner in learners:  # ... with what they did
        row = by_name[learner["name"]]
        expected = learner["passed"] - (1 if learner["mismatch"] else 0)
        assert int(row["passed"]) == expected
        assert row["source"].endswith(learner["folder"].name)
    unnamed = by_name["learner-009"]  # no name in progress: the folder's name
    assert unnamed["email"] == ""
    assert html.count("<tr class=") == 30 and 'id="chart"' in html


def test_tampered_learners_are_marked(classroom):
    where, learners = classroom
    code, out, err, rows, html = report(where, "class")
    marked = {l["name"]: l["mismatch"] for l in learners if l["mismatch"]}
    assert len(marked) == 2
    by_name = {r["learner"]: r for r in rows}
    for name, number in marked.items():
        assert by_name[name]["files"] == "mismatch"
        assert by_name[name]["mismatched_katas"] == str(number)
        assert by_name[name][f"kata_{number:02d}"] == "mismatch"
    honest = [r for r in rows if r["learner"] not in marked]
    assert {r["files"] for r in honest} == {"verified"}
    assert "2 learners claim passes their files do not match" in out
    assert html.count('data-state="mismatch"') == 2 and 'id="mismatches"' in html
    assert "is not the file that passed (sha256 differs)" in html


def test_bad_and_foreign_files_are_skipped_with_reasons(classroom):
    where, _ = classroom
    extra = where / "class"
    (extra / "notes.json").write_text('{"course": "something else"}')
    (extra / "broken.json").write_text('{"version": 1, "katas": {"1": ')
    (extra / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (extra / "newer.json").write_text('{"version": 99, "katas": {}}')
    (extra / "other-course.json").write_text('{"version": 1, "katas": {"40": {"attempts": 1}}}')
    (extra / "bad-count.json").write_text('{"version": 1, "katas": {"1": {"attempts": "many"}}}')
    (extra / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (extra / "README.md").write_text("not looked at: only .json files and folders are")
    empty_course = extra / "not-started"
    (empty_course / "katas").mkdir(parents=True)
    code, out, err, rows, html = report(where, "class")
    assert code == EXIT_PASS and len(rows) == 30, out + err
    reasons = dict(re.findall(r"skipped (\S+): (.*)", err))
    assert "not a kata progress file" in reasons["class/notes.json"]
    assert "not valid JSON" in reasons["class/broken.json"]
    assert "not a text file" in reasons["class/binary.json"]
    assert "newer checker" in reasons["class/newer.json"]
    assert "kata 40 is not in this course" in reasons["class/other-course.json"]
    assert "attempts is not a number" in reasons["class/bad-count.json"]
    assert "no .kata/progress.json" in reasons["class/not-started"]
    assert "nested too deeply" in reasons["class/deep.json"]
    assert len(reasons) == 8 and "README" not in err
    assert html.count("<li><code>") == 8 and "Skipped (8)" in html


def test_single_files_exports_and_course_folders_mix(tmp_path):
    """A progress file given directly, a `kata progress --json` export, and a course folder."""
    folder = tmp_path / "ada"
    make_learner(folder, "Ada Lovelace", 4, random.Random(3))
    progress = json.loads((folder / ".kata" / "progress.json").read_text())
    exported = export(CURRICULUM, progress, {"name": "Alan Turing", "email": None})
    (tmp_path / "alan.json").write_text(json.dumps(exported))
    code, out, err, rows, html = report(tmp_path, "ada/.kata/progress.json", "alan.json", "ada")
    assert code == EXIT_PASS, out + err
    by_name = {r["learner"]: r for r in rows}
    assert set(by_name) == {"Ada Lovelace", "Alan Turing"}  # ada is read once
    assert by_name["Ada Lovelace"]["files"] == "verified"  # its kata files were at hand
    assert by_name["Alan Turing"]["files"] == "unverified"  # a lone export: nothing to match
    assert by_name["Alan Turing"]["passed"] == by_name["Ada Lovelace"]["passed"] == "3"


def test_learner_strings_are_escaped_in_html_and_csv(tmp_path):
    make_learner(tmp_path / "x", "<script>window.pwned=1</script>", 3, random.Random(0))
    make_learner(tmp_path / "y", '=HYPERLINK("http://evil","click") {{table}}', 2, random.Random(1))
    code, out, err, rows, html = report(tmp_path, "x", "y")
    assert code == EXIT_PASS, out + err
    assert "<script>window.pwned" not in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html
    assert html.count("<script>") == 1  # only the page's own sorting script
    assert html.count('<table id="class-table">') == 1  # a name is never a placeholder
    assert {r["learner"][0] for r in rows} == {"<", "'"}  # a formula is no formula in a spreadsheet


def test_page_is_self_contained(classroom):
    where, _ = classroom
    html = report(where, "class")[4]
    for outside in ("http://", "https://", "<link", " src=", "@import", "url("):
        assert outside not in html, outside


def test_where_the_class_is_stuck():
    """The kata on which learners who have not passed it spent the most attempts."""
    from checker.classroom.report import ClassReport, Learner

    def learner(states):
        return Learner("x", None, "x", {n: {"status": "passed" if p else "in progress", "attempts": a}
                                        for n, (p, a) in states.items()})

    class_ = ClassReport("c", [(1, "one"), (2, "two"), (3, "three")], [
        learner({1: (True, 9), 2: (True, 3), 3: (False, 2)}),  # kata 1: many attempts, all passed
        learner({1: (True, 8), 2: (False, 3)}),
        learner({1: (True, 7), 2: (False, 2)}),
        learner({1: (True, 9), 3: (False, 5)}),
    ], [])
    assert class_.passes(1) == 4 and class_.attempts(1) == 33
    stuck = class_.stuck
    assert (stuck["kata"], stuck["trying"], stuck["failing"], stuck["passes"]) == (3, 2, 7, 0)
    assert ClassReport("c", [(1, "one")], [], []).stuck is None
    assert "Nobody is stuck" in render(ClassReport("c", [(1, "one")], [learner({1: (True, 1)})], []))


def test_two_hundred_learners(tmp_path):
    """The benchmark's class (bench/report_200.py times it) builds whole; not a timing test."""
    make_class(tmp_path, 200, seed=0, tampered=5)
    built = build([tmp_path], CURRICULUM)
    assert len(built.learners) == 200 and not built.skipped
    assert sum(1 for l in built.learners if l.mismatches) == 5
    assert len(csv_rows(built)) == 201
    assert render(built).count("<tr class=") == 200


def test_nothing_to_report_and_missing_paths(tmp_path):
    (tmp_path / "empty").mkdir()
    code, out, err, _, _ = report(tmp_path, "empty")
    assert code == EXIT_SETUP and "No learner's progress found" in err
    assert "no progress files or course folders" in err
    code, out, err, _, _ = report(tmp_path, "missing-folder")
    assert code == EXIT_SETUP and "does not exist" in err

"""curriculum.yaml: the real one loads; every kind of broken one gives one clear CurriculumError."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from checker.curriculum import load_curriculum
from checker.errors import EXIT_SETUP, CurriculumError
from conftest import KATAS, REPO, assert_no_traceback, run_kata_cli


def test_real_curriculum_loads():
    curriculum = load_curriculum(REPO)
    assert [k.number for k in curriculum.katas] == list(range(1, KATAS + 1)) and KATAS >= 18
    available = [k.number for k in curriculum.available]
    # katas 1-3 are released; a kata may be released before an earlier one still being written
    # (Part 3: 20 and 21 before 19), but never before a kata whose code it runs
    assert available[:3] == [1, 2, 3]
    for kata in curriculum.available:
        assert all(k.available for k in curriculum.prerequisites(kata)), kata.number
    assert len({k.slug for k in curriculum.katas}) == KATAS
    for kata in curriculum.available:
        for name in (kata.file, kata.lesson, kata.tests, kata.solution):
            assert (REPO / name).is_file(), name
        assert kata.hints and kata.time_limit_s > 0
    assert curriculum.get(1).uses_max is False
    assert curriculum.get(2).uses_max is True
    assert curriculum.get(3).module == "katas.step_03"


def test_unknown_kata_number_is_a_curriculum_error():
    with pytest.raises(CurriculumError, match="no kata 99"):
        load_curriculum(REPO).get(99)


def _entries() -> list[dict]:
    return yaml.safe_load((REPO / "curriculum.yaml").read_text(encoding="utf-8"))["katas"]


def _write(tmp_path: Path, katas: list[dict] | None = None, text: str | None = None) -> Path:
    """A course folder holding a curriculum.yaml (and the files its entries point to)."""
    for name in ("katas", "checker"):
        target = tmp_path / name
        if not target.exists():
            target.symlink_to(REPO / name, target_is_directory=True)
    if text is None:
        text = yaml.safe_dump({"version": 1, "course": "test course", "katas": katas},
                              sort_keys=False)
    (tmp_path / "curriculum.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def _error(root: Path) -> str:
    with pytest.raises(CurriculumError) as info:
        load_curriculum(root)
    return str(info.value)


def test_minimal_valid_copy_loads(tmp_path):
    root = _write(tmp_path, _entries()[:3])
    assert [k.slug for k in load_curriculum(root).katas] == ["config", "causal-mask", "layer-norm"]


def test_malformed_yaml_names_the_line(tmp_path):
    text = "version: 1\nkatas:\n  - number: 1\n    slug: [unclosed\n    title: x\n"
    message = _error(_write(tmp_path, text=text))
    assert "not valid YAML" in message
    assert re.search(r"line \d+", message), message


def test_tab_indented_yaml(tmp_path):
    message = _error(_write(tmp_path, text="katas:\n\t- number: 1\n"))
    assert "not valid YAML" in message and "line 2" in message, message


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "katas: []\n", "katas: 3\n",
                                  "- just\n- a list\n"],
                         ids=["empty", "blank", "comment", "no-katas", "katas-not-list", "top-list"])
def test_empty_or_shapeless_file(tmp_path, text):
    message = _error(_write(tmp_path, text=text))
    assert "katas:" in message


def test_missing_file(tmp_path):
    message = _error(tmp_path)
    assert "No curriculum.yaml" in message and "KATA_ROOT" in message


def test_duplicate_number(tmp_path):
    entries = _entries()[:3]
    entries[1]["number"] = 1
    entries[1]["slug"] = "other"
    message = _error(_write(tmp_path, entries))
    assert "appears twice" in message and "1" in message and "entries 1 and 2" in message, message


def test_duplicate_slug(tmp_path):
    entries = _entries()[:3]
    entries[2]["slug"] = entries[0]["slug"]
    message = _error(_write(tmp_path, entries))
    assert f"`{entries[0]['slug']}` appears twice" in message, message


def test_out_of_order_number(tmp_path):
    entries = _entries()[:3]
    entries[1], entries[2] = entries[2], entries[1]
    message = _error(_write(tmp_path, entries))
    assert "entry 2 is kata 3" in message, message


def test_missing_field_names_entry_and_line(tmp_path):
    entries = _entries()[:3]
    del entries[1]["title"]
    root = _write(tmp_path, entries)
    line = next(i for i, text in enumerate((root / "curriculum.yaml").read_text().splitlines(), 1)
                if text.startswith("- number: 2") or text.strip() == "- number: 2")
    message = _error(root)
    assert "entry 2" in message and "kata 2" in message and "`title`" in message, message
    assert f"line {line}" in message, message


@pytest.mark.parametrize("field,value,words", [
    ("time_limit_s", "ten", "`time_limit_s` must be a number"),
    ("time_limit_s", True, "`time_limit_s` must be a number"),
    ("time_limit_s", 0, "`time_limit_s` must be positive"),
    ("number", "2", "`number` must be a whole number"),
    ("hints", [], "at least one hint"),
    ("hints", "one hint", "`hints` must be a list"),
    ("hints", ["fine", ""], "every item of `hints`"),
    ("fixtures", [3], "every item of `fixtures`"),
    ("available", "yes", "`available` must be true or false"),
    ("slug", None, "`slug` must be text"),
])
def test_wrong_type(tmp_path, field, value, words):
    entries = _entries()[:3]
    entries[1][field] = value
    message = _error(_write(tmp_path, entries))
    assert words in message, message
    assert "entry 2" in message and "line" in message, message


def test_time_limit_nan(tmp_path):
    entries = _entries()[:3]
    entries[0]["time_limit_s"] = float("nan")
    message = _error(_write(tmp_path, entries))
    assert "time_limit_s" in message


def test_unknown_field(tmp_path):
    entries = _entries()[:3]
    entries[0]["time_limit"] = 10
    message = _error(_write(tmp_path, entries))
    assert "unknown field" in message and "time_limit" in message and "entry 1" in message


def test_entry_not_a_mapping(tmp_path):
    entries = _entries()[:3]
    entries[2] = "layer-norm"
    message = _error(_write(tmp_path, entries))
    assert "entry 3" in message and "mapping" in message


@pytest.mark.parametrize("field", ["file", "lesson", "folder"])
def test_available_kata_with_missing_file(tmp_path, field):
    entries = _entries()[:3]
    entries[2][field] = "katas/step_03_missing.py"
    message = _error(_write(tmp_path, entries))
    assert "entry 3" in message and f"`{field}`" in message and "step_03_missing.py" in message
    assert "does not exist" in message


@pytest.mark.parametrize("name", ["test_kata.py", "solution.py", "spec.py"])
def test_kata_folder_missing_a_file(tmp_path, name):
    entries = _entries()[:3]
    folder = tmp_path / "elsewhere" / "03_partial"  # not under checker/: a link to the real one
    folder.mkdir(parents=True)
    for other in {"test_kata.py", "solution.py", "spec.py"} - {name}:
        (folder / other).write_text("")
    entries[2]["folder"] = "elsewhere/03_partial"
    message = _error(_write(tmp_path, entries))
    assert "entry 3" in message and "`folder`" in message and name in message


def test_unavailable_kata_may_name_files_not_written_yet(tmp_path):
    entries = _entries()[:4]
    entries[3]["available"] = False
    entries[3]["file"] = "katas/step_04_not_written_yet.py"
    entries[3]["folder"] = "checker/course/kata04_not_written_yet"
    assert len(load_curriculum(_write(tmp_path, entries)).katas) == 4
    entries[3]["available"] = True
    assert "step_04_not_written_yet.py" in _error(_write(tmp_path, entries))


@pytest.mark.parametrize("uses", [[3], [0], ["1"], [True], [5]], ids=["itself", "zero", "text",
                                                                       "bool", "later"])
def test_uses_must_name_earlier_katas(tmp_path, uses):
    entries = _entries()[:3]
    entries[2]["uses"] = uses
    message = _error(_write(tmp_path, entries))
    assert "entry 3" in message and "`uses`" in message


def test_prerequisites_follow_uses_transitively(tmp_path):
    entries = _entries()[:3]
    entries[1]["uses"] = [1]
    entries[2]["uses"] = [2]
    curriculum = load_curriculum(_write(tmp_path, entries))
    assert [k.number for k in curriculum.prerequisites(curriculum.get(3))] == [1, 2]
    assert curriculum.prerequisites(curriculum.get(1)) == []


BROKEN = {"malformed": "katas:\n  - number: 1\n    slug: [unclosed\n", "shapeless": "katas: 3\n",
          "empty": ""}


@pytest.mark.parametrize("broken,args", [
    ("malformed", ("check", "1")), ("malformed", ("list",)), ("malformed", ()),
    ("shapeless", ("hint", "1")), ("empty", ("check", "1")),
])
def test_cli_reports_a_broken_curriculum(tmp_path, broken, args):
    root = _write(tmp_path, text=BROKEN[broken])
    code, out, err = run_kata_cli(root, *args)
    assert code == EXIT_SETUP
    assert "curriculum.yaml" in err, (out, err)
    assert_no_traceback(out, err)
    assert not (root / ".kata" / "last-crash.txt").exists()


def test_cli_with_a_course_folder_that_does_not_exist(tmp_path):
    code, out, err = run_kata_cli(tmp_path / "nowhere", "list")
    assert code == EXIT_SETUP
    assert "No curriculum.yaml" in err
    assert_no_traceback(out, err)

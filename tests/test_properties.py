"""Property-based tests (hypothesis): whatever a progress file or curriculum.yaml contains, the
checker answers with its own message, never a traceback, and saving never loses a pass."""

from __future__ import annotations

import json
import shutil

import yaml
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.curriculum import load_curriculum
from checker.errors import CurriculumError, ProgressError
from checker.progress import ProgressStore, kata_record, passed_numbers, record_attempt

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20)
records = st.dictionaries(st.sampled_from(["status", "attempts", "first_pass", "last_pass",
                                           "passed_sha256", "hints_shown", "solution_revealed"]),
                          json_values, max_size=5)
progress_like = st.fixed_dictionaries(
    {"version": st.one_of(st.just(1), json_values),
     "katas": st.one_of(st.dictionaries(st.from_regex(r"\A-?[0-9]{1,3}\Z") | st.text(max_size=3),
                                        st.one_of(records, json_values), max_size=4), json_values)},
    optional={"checker_version": json_values})
file_contents = st.one_of(
    st.binary(max_size=200),
    json_values.map(json.dumps),
    progress_like.map(json.dumps),
    progress_like.map(lambda d: json.dumps(d)[: len(json.dumps(d)) // 2]),  # truncated
)


def _use(progress: dict) -> None:
    """What the commands do with a loaded progress file."""
    passed_numbers(progress)
    for number in range(1, 13):
        kata_record(progress, number)


@SETTINGS
@given(content=file_contents)
def test_any_progress_file_loads_or_is_refused_with_a_message(tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("state")
    path = folder / "progress.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    store = ProgressStore(folder)
    try:
        progress = store.load()
    except ProgressError as exc:
        assert "newer checker" in str(exc)
        assert path.read_bytes() == (content if isinstance(content, bytes) else content.encode())
        return
    _use(progress)
    with store.update() as progress:
        record_attempt(progress, 1, "pass", "a" * 64)
    assert 1 in passed_numbers(ProgressStore(folder).load())


operations = st.lists(st.tuples(st.sampled_from(["pass", "fail", "error", "damage", "delete"]),
                                st.integers(1, 12), st.binary(max_size=40)), max_size=12)


@SETTINGS
@given(steps=operations)
def test_saving_never_loses_a_pass(tmp_path_factory, steps):
    """Checks, and damage to the progress file between them: every pass made survives."""
    folder = tmp_path_factory.mktemp("state")
    passes: set[int] = set()
    for action, number, junk in steps:
        store = ProgressStore(folder)
        if action == "damage":
            (folder / "progress.json").write_bytes(junk)
        elif action == "delete":
            (folder / "progress.json").unlink(missing_ok=True)
        else:
            with store.update() as progress:
                record_attempt(progress, number, action, "b" * 64)
            passes |= {number} if action == "pass" else set()
        assert passes <= passed_numbers(ProgressStore(folder).load())


# --- curriculum.yaml ------------------------------------------------------------------------

REAL = yaml.safe_load((REPO / "curriculum.yaml").read_text())
FIELDS = sorted({field for entry in REAL["katas"] for field in entry})
yaml_values = st.one_of(json_values, st.text(max_size=20), st.lists(st.text(max_size=5), max_size=3),
                        st.just("katas/step_01.py"), st.just("no/such/file.py"), st.just("a\x00b"),
                        st.floats(allow_nan=True, allow_infinity=True))
edits = st.lists(st.tuples(st.sampled_from(["set", "delete", "duplicate", "drop"]),
                           st.integers(0, 11), st.sampled_from(FIELDS), yaml_values), min_size=1, max_size=4)


def _course_with(tmp_path_factory, data) -> object:
    root = tmp_path_factory.mktemp("course")
    for folder in ("katas", "checker"):
        (root / folder).symlink_to(REPO / folder)
    (root / "curriculum.yaml").write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return root


@SETTINGS
@given(changes=edits)
def test_any_curriculum_edit_loads_or_gets_a_message(tmp_path_factory, changes):
    data = json.loads(json.dumps(REAL))
    for action, index, field, value in changes:
        katas = data["katas"]
        if not katas:
            break
        entry = katas[index % len(katas)]
        if action == "set":
            entry[field] = value
        elif action == "delete":
            entry.pop(field, None)
        elif action == "duplicate":
            katas.append(dict(entry))
        else:
            katas.remove(entry)
    _loads_or_says_why(_course_with(tmp_path_factory, data))


@SETTINGS
@given(text=st.text(max_size=300))
def test_any_curriculum_text_loads_or_gets_a_message(tmp_path_factory, text):
    _loads_or_says_why(_course_with(tmp_path_factory, text))


def _loads_or_says_why(root) -> None:
    try:
        load_curriculum(root)
    except CurriculumError as exc:
        assert str(exc).strip()
    shutil.rmtree(root)

"""`kata dev new SLUG`: adding a kata is a new folder, its curriculum entry and its learner files,
nothing else; the scaffold is judged by `kata dev verify` and unlocked by `kata check`."""

from __future__ import annotations

from checker.curriculum import load_curriculum
from checker.errors import EXIT_FAIL, EXIT_PASS, EXIT_SETUP
from checker.paths import state_dir
from checker.progress import ProgressStore, record_attempt
from conftest import assert_no_traceback, place_solution, run_kata_cli

SOLVED = "import numpy as np\n\n\ndef solve(x):\n    return 2 * np.asarray(x)\n"


def _first_katas(course, count: int) -> None:
    """The course copy cut to its first `count` katas (as text: the file's comments stay), the
    later katas' learner files gone with them."""
    later = load_curriculum(course).katas[count:]
    text = (course / "curriculum.yaml").read_text()
    cut = text.index(f"\n  - number: {count + 1}\n")
    (course / "curriculum.yaml").write_text(text[:cut] + "\n")
    for kata in later:
        for name in (kata.file, kata.lesson):
            (course / name).unlink(missing_ok=True)


def test_scaffold_verify_and_unlock(course):
    _first_katas(course, 3)  # a short course: its last kata checks in seconds
    before = load_curriculum(course)
    last = before.katas[-1]
    code, out, err = run_kata_cli(course, "dev", "new", "double-it", "--title", "Double it")
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, out + err
    curriculum = load_curriculum(course)
    kata = curriculum.katas[-1]
    assert kata.number == last.number + 1 and kata.slug == "double-it" and kata.title == "Double it"
    assert kata.folder == f"checker/course/kata{kata.number:02d}_double_it"
    for path in (kata.file, kata.lesson, kata.tests, kata.solution, f"{kata.folder}/spec.py"):
        assert (course / path).is_file(), path
        assert path in out  # the scaffold says what it wrote
    assert "solution.py" in out and "spec.py" in out  # ... and what to fill in
    assert (course / "curriculum.yaml").read_text().startswith("# The course, in order.")  # comments kept

    # As scaffolded, the reference solution is still a TODO: verify says so, naming the file.
    code, out, err = run_kata_cli(course, "dev", "verify", str(kata.number))
    assert_no_traceback(out, err)
    assert code == EXIT_FAIL and f"{kata.solution} should pass" in out, out + err

    # Filled in with a trivial solution: the skeleton fails with a message, the solution passes.
    (course / kata.solution).write_text(SOLVED)
    code, out, err = run_kata_cli(course, "dev", "verify", str(kata.number))
    assert code == EXIT_PASS and "ok (fixtures verify, skeleton fails, solution passes)" in out, out + err

    # After the last kata passes, `kata check` unlocks the new one; then it passes too.
    store = ProgressStore(state_dir(course))
    with store.update() as progress:
        for earlier in before.katas[:-1]:
            record_attempt(progress, earlier.number, "pass", None)
    place_solution(course, last.number)
    code, out, err = run_kata_cli(course, "check", str(last.number))
    assert code == EXIT_PASS and f"Kata {kata.number} unlocked: Double it." in out, out + err
    (course / kata.file).write_text(SOLVED)
    code, out, err = run_kata_cli(course, "check", str(kata.number))
    assert code == EXIT_PASS and "PASS" in out, out + err


def test_scaffold_refuses_bad_or_taken_slugs(course):
    katas = len(load_curriculum(course).katas)
    for slug, words in (("Not A Slug", "is not a slug"), ("generation", "exists already")):
        code, out, err = run_kata_cli(course, "dev", "new", slug)
        assert_no_traceback(out, err)
        assert code == EXIT_SETUP and words in out + err, out + err
    assert len(load_curriculum(course).katas) == katas  # nothing was added

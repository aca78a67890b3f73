"""`kata reset N`: the original skeleton comes back (found in git history by its sha256), and
the learner's file is backed up first."""

import subprocess
import sys

from checker.errors import EXIT_PASS, EXIT_SETUP
from conftest import assert_no_traceback, kata_env, run_kata_cli


def _git(course, *args):
    subprocess.run(["git", "-c", "user.email=l@example.com", "-c", "user.name=learner", *args],
                   cwd=course, check=True, capture_output=True)


def test_reset_after_committed_work(course):
    _git(course, "init", "-q")
    _git(course, "add", "-A")
    _git(course, "commit", "-qm", "the course")
    step = course / "katas" / "step_03.py"
    original = step.read_bytes()
    step.write_text("# my own attempt\n")
    _git(course, "commit", "-qam", "my work")
    code, out, err = run_kata_cli(course, "reset", "3", "--yes")
    assert_no_traceback(out, err)
    assert code == EXIT_PASS, out + err
    assert step.read_bytes() == original
    backups = list((course / ".kata" / "backups").glob("step_03-*.py"))
    assert len(backups) == 1 and backups[0].read_text() == "# my own attempt\n"


def test_reset_without_history_says_where_to_get_it(course):
    step = course / "katas" / "step_03.py"
    step.write_text("# my own attempt\n")
    code, out, err = run_kata_cli(course, "reset", "3", "--yes")
    assert_no_traceback(out, err)
    assert code == EXIT_SETUP and "not in this folder's git history" in err
    assert step.read_text() == "# my own attempt\n"  # nothing lost


def test_reset_asks_first(course):
    _git(course, "init", "-q")
    _git(course, "add", "-A")
    _git(course, "commit", "-qm", "the course")
    step = course / "katas" / "step_03.py"
    step.write_text("# my own attempt\n")
    done = subprocess.run([sys.executable, "-c", "from checker.cli import main; main()", "reset", "3"],
                          cwd=course, env=kata_env(course), input="n\n", capture_output=True,
                          text=True, timeout=120)
    assert_no_traceback(done.stdout, done.stderr)
    assert done.returncode != EXIT_PASS and "Replace katas/step_03.py" in done.stdout
    assert step.read_text() == "# my own attempt\n"  # answered no: nothing changed

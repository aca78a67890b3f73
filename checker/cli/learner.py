"""The learner's everyday commands: kata list, hint, solution, reset, progress, watch."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from checker import learner_info
from checker.cli.common import available, console, course, load_progress, print_json, warm_ahead
from checker.errors import KataError
from checker.output import terminal
from checker.paths import state_dir
from checker.progress import current_kata, kata_record, now_iso, passed_numbers


@click.command("list")
def list_katas() -> None:
    """Every kata, its status, and your progress."""
    curriculum, store = course()
    progress = load_progress(store)
    terminal.render_list(console, curriculum, progress)
    warm_ahead(curriculum, progress, show=True)


@click.command()
@click.argument("number", type=int)
@click.option("--all", "show_all", is_flag=True, help="Show every hint of the kata at once.")
def hint(number: int, show_all: bool) -> None:
    """Show the next hint for kata NUMBER (a stronger one each time)."""
    show_hint(number, show_all)


def show_hint(number: int, show_all: bool = False) -> None:
    curriculum, store = course()
    kata = available(curriculum, number)
    with store.update() as progress:
        record = kata_record(progress, number)
        first = len(kata.hints) - 1 if show_all else min(record["hints_shown"], len(kata.hints) - 1)
        record["hints_shown"] = max(record["hints_shown"], first + 1)
    for level in range(0 if show_all else first, first + 1):
        console.print(f"Hint {level + 1} of {len(kata.hints)} for kata {number} "
                      f"({escape(kata.title)}):")
        console.print(f"  {escape(kata.hints[level])}")
    if first + 1 < len(kata.hints):
        console.print(f"(run `kata hint {number}` again for a stronger hint)", style="dim")


@click.command()
@click.argument("number", type=int)
@click.option("--reveal", is_flag=True, help="Show it before the kata passes (recorded).")
@click.option("--yes", is_flag=True, help="With --reveal: do not ask for confirmation.")
def solution(number: int, reveal: bool, yes: bool) -> None:
    """Show the reference solution of kata NUMBER once it passes (or with --reveal)."""
    curriculum, store = course()
    kata = available(curriculum, number)
    passed = number in passed_numbers(load_progress(store))
    if not passed:
        if not reveal:
            raise KataError(f"Kata {number} has not passed yet, so its solution stays hidden. "
                            f"Try `kata hint {number}` first; `kata solution {number} --reveal` "
                            "shows it anyway (and records that it was revealed).")
        if not yes and not click.confirm(f"Reveal the solution of kata {number} before passing it?"):
            raise click.exceptions.Abort()
        with store.update() as progress:
            kata_record(progress, number).setdefault("solution_revealed", now_iso())
    console.print(f"# {kata.solution} — the reference solution of kata {number}", style="dim")
    console.print((curriculum.root / kata.solution).read_text(encoding="utf-8"), markup=False,
                  highlight=False)


@click.command("reset")
@click.argument("number", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset_command(number: int, yes: bool) -> None:
    """Put kata NUMBER's untouched skeleton back (your file is backed up first)."""
    from checker.reset import pristine_skeleton, reset

    curriculum, store = course()
    kata = available(curriculum, number)
    pristine_skeleton(curriculum.root, kata)  # fail before asking if it cannot be done
    if not yes and not click.confirm(f"Replace {kata.file} with the original skeleton?"):
        raise click.exceptions.Abort()
    backup = reset(curriculum.root, kata, state_dir(curriculum.root) / "backups")
    console.print(f"{kata.file} is the original skeleton again."
                  + (f" Your version is saved as {backup}." if backup else ""), markup=False)


@click.command("watch")
def watch_command() -> None:
    """Re-check the current kata each time you save its file."""
    from checker.cli.check import check_and_show
    from checker.play import warmer
    from checker.watch import watch

    curriculum, store = course()
    warm_ahead(curriculum, store.load())

    def current() -> int | None:
        return current_kata([k.number for k in curriculum.available], passed_numbers(store.load()))

    def check_once(number: int) -> bool:
        with warmer.foreground():
            passed = check_and_show(curriculum, store, curriculum.get(number), False).passed
        done = passed_numbers(store.load()) & {k.number for k in curriculum.katas}
        console.print(escape(terminal.progress_bar(len(done), len(curriculum.katas))))
        return passed

    sys.exit(watch(current, lambda n: curriculum.root / curriculum.get(n).file, check_once,
                   show_hint, console.print))


@click.command("progress")
@click.option("--json", "as_json", is_flag=True, help="Print your progress as JSON (for a class report).")
@click.option("--name", default=None, help="Your name in class reports (kept; default: git's user.name).")
@click.option("--email", default=None, help="Your email in class reports (kept; default: git's user.email).")
def progress_command(as_json: bool, name: str | None, email: str | None) -> None:
    """Your progress: who you are, each kata's status, attempts, hints and first pass."""
    from checker.output import progress_json

    curriculum, store = course()
    if name is not None or email is not None:
        with store.update() as progress:
            learner_info.set_identity(progress, name, email)
    progress = load_progress(store)
    learner = learner_info.identity(progress, curriculum.root)
    if as_json:
        print_json(progress_json.export(curriculum, progress, learner))
        return
    who = learner.get("name") or "(no name: set one with `kata progress --name \"Your Name\"`)"
    console.print(f"Learner: {who}" + (f" <{learner['email']}>" if learner.get("email") else ""),
                  markup=False)
    terminal.render_list(console, curriculum, progress)


COMMANDS = [list_katas, hint, solution, reset_command, watch_command, progress_command]

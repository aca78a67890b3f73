"""`kata check`: options in, the check service's verdicts out, in words, JSON or JUnit.

The policy (lock, fixtures, blame, recording) is the check service's (checker/check/service.py);
this module only shows what happens while it runs and what it decided, then says what comes next.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.markup import escape

from checker.check.service import check_kata
from checker.check.verdict import CheckResult, Status
from checker.cli import texts
from checker.cli.common import available, console, course, load_progress, print_json, warm_ahead
from checker.curriculum import Curriculum, Kata
from checker.errors import EXIT_FAIL, EXIT_LOCKED, EXIT_PASS
from checker.fixture_files import random_weights
from checker.output import terminal
from checker.paths import fixtures_dir
from checker.play import warmer
from checker.progress import ProgressStore, current_kata, passed_numbers
from checker.protocol import Env


@click.command()
@click.argument("number", type=int, required=False)
@click.option("--all", "check_all", is_flag=True, help="Check every available kata in order.")
@click.option("--force", is_flag=True, help="Check even if the kata is still locked.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as JSON (Exercism's results shape, with score and max_score).")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write JUnit XML to this file, one testcase per hidden test.")
@click.option("--points", type=click.FloatRange(min=0), default=1, show_default=True,
              help="Points a passing kata is worth in the JSON score.")
@click.option("--fixtures", "fixtures_path", type=click.Path(file_okay=False, exists=True),
              default=None, help="Golden fixtures to check against (default: the course's own).")
@click.option("--gguf", "gguf_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SmolLM2-135M-Instruct's GGUF file, for the katas that read it (default: "
                   "fetched once into your cache).")
def check(number: int | None, check_all: bool, force: bool, as_json: bool, junit_path: Path | None,
          points: float, fixtures_path: str | None, gguf_path: Path | None) -> None:
    """Check kata NUMBER (default: the current kata) against Hugging Face's golden tensors."""
    if junit_path is not None:
        from checker.output import junit

        junit.check_writable(junit_path)  # before minutes of checking, not after
    if fixtures_path:
        os.environ[Env.FIXTURES] = str(Path(fixtures_path).resolve())  # the child inherits it
    if gguf_path:
        os.environ[Env.GGUF] = str(gguf_path.resolve())  # checked before use (checker.models.smollm2)
    curriculum, store = course()
    progress = load_progress(store)
    if check_all:
        if number is not None:
            raise click.UsageError("Give a kata number or --all, not both.")
        katas = list(curriculum.available)
    else:
        if number is None:
            number = current_kata([k.number for k in curriculum.available], passed_numbers(progress))
            if number is None:
                console.print("Every available kata passes. Use `kata check N` to re-check one, "
                              "or `kata check --all`.")
                return
        katas = [available(curriculum, number)]
    with warmer.foreground():  # the background warm-up gives way while this runs
        results = [check_and_show(curriculum, store, kata, force, quiet=as_json) for kata in katas]
    warm_ahead(curriculum, store.load())  # the next katas compile while the learner reads
    if as_json or junit_path is not None:
        from checker.output import junit, results_json

        data = [results_json.kata_result(r, kata, points) for r, kata in zip(results, katas)]
        if junit_path is not None:
            junit.write(junit_path, data)
        if as_json:
            print_json(results_json.all_results(data) if check_all else data[0])
    sys.exit(exit_code(results))


def exit_code(results: list[CheckResult]) -> int:
    statuses = {r.status for r in results}
    if statuses <= {Status.PASS}:
        return EXIT_PASS
    if statuses <= {Status.PASS, Status.LOCKED}:
        return EXIT_LOCKED
    return EXIT_FAIL


def check_and_show(curriculum: Curriculum, store: ProgressStore, kata: Kata, force: bool,
                   quiet: bool = False) -> CheckResult:
    """One kata through the check service, with its progress and verdict shown (unless `quiet`:
    --json prints the verdict itself)."""
    if quiet:
        return check_kata(curriculum, store, kata, force=force)
    if console.is_terminal:
        with console.status(f"Checking kata {kata.number}: {kata.title} ...") as status:
            def say(kind: str, text: str) -> None:
                if kind == "checking":  # the spinner says it already
                    return
                if kind in ("compiling", "compiling again", "step", "step again"):  # the live line
                    status.update(f"Checking kata {kata.number}: {escape(text)}")
                    return
                if kind == "idle":
                    status.update(f"Checking kata {kata.number}: {kata.title} ...")
                    return
                console.print(f"  {escape(text)}", style="dim")
                status.update(f"Checking kata {kata.number}: {kata.title} ...")

            result = check_kata(curriculum, store, kata, force=force, on_event=say)
    else:
        result = check_kata(curriculum, store, kata, force=force, on_event=plain_events(kata))
    if result.status == Status.LOCKED:
        console.print(f"[dim]Kata {kata.number}: {kata.title} — locked.[/] {result.message}")
        return result
    terminal.render_result(console, result, kata)
    after(curriculum, kata, result)
    return result


def plain_events(kata: Kata):
    """on_event for output that is not a terminal (a pipe, a file, an editor's panel): each event
    its own line, on stdout with the verdict and "Stuck? ...", so that the order they happened in
    is the order they are read in (on stderr, a compile notice could land after, or beside, the
    last line of a buffered stdout)."""
    def say(kind: str, text: str) -> None:
        if kind in ("compiling again", "step again", "idle"):
            return  # a live line's updates: a log says each family and step once, then the summary
        if kind == "checking":
            console.print(f"Checking kata {kata.number}: {kata.title} ...", markup=False)
        else:
            console.print(f"  {text}", style="dim", markup=False)
    return say


def after(curriculum: Curriculum, kata: Kata, result: CheckResult) -> None:
    """What comes next: fix and re-check, or what this pass opened."""
    if not result.passed:
        console.print(f"Fix {kata.file} and run `kata check {kata.number}` again. "
                      f"Stuck? `kata hint {kata.number}`.")
        return
    later = [k for k in curriculum.katas if k.number > kata.number]
    opened = next((k for k in later if k.available), None)  # a kata not released yet is skipped
    waiting = [k for k in later if not k.available and (opened is None or k.number < opened.number)]
    if kata.command == "run":  # the end of the GPT-2 part: what its words are, and what comes next
        console.print("[bold green]Your GPT-2 is complete![/]")
        if random_weights(fixtures_dir(curriculum.root)):
            console.print(escape(texts.RANDOM_WEIGHTS.format(text="The text your GPT-2 wrote above")
                                 + " " + texts.NEXT), highlight=False, soft_wrap=True)
    elif kata.command == "chat":
        console.print(escape(texts.CHAT), style="bold green", soft_wrap=True)
    elif kata.provides == "cache":
        console.print(escape(texts.CHAT_CACHED), style="bold green", soft_wrap=True)
    elif kata.provides == "sampler":
        console.print(escape(texts.SAMPLER), style="bold green", soft_wrap=True)
    elif kata.provides == "speculative":
        console.print(escape(texts.SPECULATIVE), style="bold green", soft_wrap=True)
    if not later:
        console.print("[bold green]That was the last kata.[/]")
    elif result.first_pass:
        for soon in waiting:
            console.print(f"[green]Kata {soon.number} ({escape(soon.title)}) comes once it is "
                          "released.[/]")
        if opened:
            console.print(f"[bold green]Kata {opened.number} unlocked: {escape(opened.title)}.[/] "
                          f"Read {opened.lesson}, then run `kata check {opened.number}`.")

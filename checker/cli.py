"""The `kata` command: parse, call, print, exit. Exit codes: 0 pass, 1 fail, 2 setup, 3 locked."""

from __future__ import annotations

import os
import signal
import sys
import traceback
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from checker import __version__, learner_info

from checker.output import terminal as render
from checker.curriculum import Curriculum, Kata, load_curriculum
from checker.errors import (EXIT_FAIL, EXIT_LOCKED, EXIT_PASS, EXIT_SETUP, KataError, LockedError,
                            LearnerCodeError)
from checker.fixture_files import random_weights, verify_all
from checker.paths import fixtures_dir, repo_root, state_dir
from checker.progress import (ProgressStore, current_kata, is_unlocked, kata_record, now_iso,
                              passed_numbers, record_attempt, unlocked_by)
from checker.check.runner import CheckResult, file_sha256, run_kata

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def _course() -> tuple[Curriculum, ProgressStore]:
    curriculum = load_curriculum(repo_root())
    return curriculum, ProgressStore(state_dir(curriculum.root))


def _load_progress(store: ProgressStore) -> dict:
    progress = store.load()
    for notice in store.notices:
        errors.print(notice, style="yellow", markup=False)
    store.notices.clear()
    return progress


def _available(curriculum: Curriculum, number: int) -> Kata:
    kata = curriculum.get(number)
    if not kata.available:
        raise KataError(f"Kata {number} ({kata.title}) is not available yet in this version of the "
                        "course. Run `kata list` to see which katas are ready.")
    return kata


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kata")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Build GPT-2 from scratch with MAX, one kata at a time, checked against Hugging Face."""
    if ctx.invoked_subcommand is None:
        curriculum, store = _course()
        progress = _load_progress(store)
        passed = passed_numbers(progress)
        numbers = [k.number for k in curriculum.available]
        console.print(escape(render.progress_bar(len(passed & set(numbers)), len(curriculum.katas))))
        current = current_kata(numbers, passed)
        if current is None:
            console.print("Every available kata passes. Well done!")
        else:
            kata = curriculum.get(current)
            console.print(f"Current kata: {current}. {kata.title}  (lesson: {kata.lesson}, "
                          f"your file: {kata.file})")
            console.print(f"Next: edit {kata.file}, then run [bold]kata check {current}[/]. "
                          f"Stuck? [bold]kata hint {current}[/]")


@cli.command("list")
def list_katas() -> None:
    """Every kata, its status, and your progress."""
    curriculum, store = _course()
    render.render_list(console, curriculum, _load_progress(store))


@cli.command()
@click.argument("number", type=int)
@click.option("--all", "show_all", is_flag=True, help="Show every hint of the kata at once.")
def hint(number: int, show_all: bool) -> None:
    """Show the next hint for kata NUMBER (a stronger one each time)."""
    curriculum, store = _course()
    kata = _available(curriculum, number)
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


@cli.command()
@click.argument("number", type=int)
@click.option("--reveal", is_flag=True, help="Show it before the kata passes (recorded).")
@click.option("--yes", is_flag=True, help="With --reveal: do not ask for confirmation.")
def solution(number: int, reveal: bool, yes: bool) -> None:
    """Show the reference solution of kata NUMBER once it passes (or with --reveal)."""
    curriculum, store = _course()
    kata = _available(curriculum, number)
    passed = number in passed_numbers(_load_progress(store))
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


@cli.command()
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
        os.environ["KATA_FIXTURES"] = str(Path(fixtures_path).resolve())  # the child inherits it
    if gguf_path:
        os.environ["KATA_GGUF"] = str(gguf_path.resolve())  # checked before use (checker.models.smollm2)
    curriculum, store = _course()
    progress = _load_progress(store)
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
        katas = [_available(curriculum, number)]
    results = []
    for kata in katas:
        results.append(_check_one(curriculum, store, kata, force, as_json))
    if as_json or junit_path is not None:
        from checker.output import junit, results_json

        data = [results_json.kata_result(r, kata, points) for r, kata in zip(results, katas)]
        if junit_path is not None:
            junit.write(junit_path, data)
        if as_json:
            render.print_json(results_json.all_results(data) if check_all else data[0])
    sys.exit(_exit_code(results))


def _exit_code(results: list[CheckResult]) -> int:
    statuses = {r.status for r in results}
    if statuses <= {"pass"}:
        return EXIT_PASS
    if statuses <= {"pass", "locked"}:
        return EXIT_LOCKED
    return EXIT_FAIL


def _check_one(curriculum: Curriculum, store: ProgressStore, kata: Kata, force: bool,
               quiet: bool) -> CheckResult:
    passed = passed_numbers(store.load())
    released = [k.number for k in curriculum.available]
    if not force and not is_unlocked(kata.number, passed, released):
        before = unlocked_by(kata.number, released)
        result = CheckResult(kata.number, kata.slug, "locked",
                             f"Kata {kata.number} is locked: pass kata {before} first "
                             f"(`kata check {before}`), or use --force to check it anyway.")
        if not quiet:
            console.print(f"[dim]Kata {kata.number}: {kata.title} — locked.[/] {result.message}")
        return result
    problems = verify_all(fixtures_dir(curriculum.root), kata.fixtures)
    if problems:
        raise KataError("\n".join(problems))
    result = _run_with_status(curriculum, kata, quiet)
    if result.status in ("fail", "error"):
        _blame_prerequisites(curriculum, store, kata, result)
    with store.update() as progress:
        first_pass = record_attempt(progress, kata.number, result.status, result.sha256)
        learner_info.remember_from_git(progress, curriculum.root)  # names the learner in reports
    if not quiet:
        render.render_result(console, result, kata)
        _after(curriculum, kata, result, first_pass)
    return result


def _blame_prerequisites(curriculum: Curriculum, store: ProgressStore, kata: Kata,
                         result: CheckResult) -> None:
    """When kata N fails, re-check the earlier katas it runs whose files changed since they
    passed; if one of them fails now, say so, since that is the thing to fix first."""
    progress = store.load()
    for earlier in curriculum.prerequisites(kata):
        record = progress["katas"].get(str(earlier.number), {})
        if file_sha256(curriculum.root / earlier.file) == record.get("passed_sha256"):
            continue
        again = run_kata(curriculum, earlier)
        if not again.passed:
            first = next((t.get("message") for t in again.tests if t.get("message")), again.message)
            result.blame = (
                f"Kata {kata.number} runs your earlier work, and kata {earlier.number} "
                f"({earlier.title}, {earlier.file}) does not pass any more: {first}\n"
                f"Fix it first: `kata check {earlier.number}`."
            )
            return


def _run_with_status(curriculum: Curriculum, kata: Kata, quiet: bool) -> CheckResult:
    if quiet or not console.is_terminal:
        say = (lambda kind, text: errors.print(f"  {text}", style="dim", markup=False)) if not quiet else None
        if not quiet:
            console.print(f"Checking kata {kata.number}: {kata.title} ...")
        return run_kata(curriculum, kata, on_event=say)
    with console.status(f"Checking kata {kata.number}: {kata.title} ...") as status:
        def say(kind: str, text: str) -> None:
            if kind == "compiling":  # the spinner line says it while it lasts
                status.update(f"Checking kata {kata.number}: {escape(text)}")
                return
            console.print(f"  {escape(text)}", style="dim")
            status.update(f"Checking kata {kata.number}: {kata.title} ...")
        return run_kata(curriculum, kata, on_event=say)


# The course's fixtures are a tiny GPT-2 with random weights: right code, random words.
RANDOM_WEIGHTS = (
    "{text} came from the course's tiny GPT-2, whose weights are random "
    "numbers (made for checking, not for writing), so its words are random too. What counts is "
    "that your model computes GPT-2's numbers, token for token.")
NEXT = (
    "Next: Part 2 builds a modern LLM the same way and ends with a real pretrained model, "
    "SmolLM2-135M-Instruct, running on your own code. Real GPT-2 weights, where they are already "
    "on this machine (a Hugging Face cache, or a folder in its layout): `pip install -e "
    "\".[maintainer]\"`, `kata dev fixtures --model gpt2 --out real-fixtures/`, then `kata run "
    "--fixtures real-fixtures/ \"Hello\"`.")
CHAT = ("Your own Llama now runs SmolLM2-135M-Instruct's real weights: talk to it with `kata chat`, "
        "or ask it one thing: `kata chat \"What is the capital of France?\"`.")
SAMPLER = ("`kata chat` now draws each token with your own sample_next_token: try `kata chat "
           "--temperature 0.8 --top-p 0.9 --repetition-penalty 1.2 \"Tell me a story\"`.")
CHAT_CACHED = ("`kata chat` now runs your model with your own KV cache: after the question, each new "
               "token alone goes through the model. Try `kata chat \"What is the capital of France?\"`.")


def _after(curriculum: Curriculum, kata: Kata, result: CheckResult, first_pass: bool) -> None:
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
            console.print(escape(RANDOM_WEIGHTS.format(text="The text your GPT-2 wrote above") + " "
                                 + NEXT), highlight=False, soft_wrap=True)
    elif kata.command == "chat":
        console.print(escape(CHAT), style="bold green", soft_wrap=True)
    elif kata.provides == "cache":
        console.print(escape(CHAT_CACHED), style="bold green", soft_wrap=True)
    elif kata.provides == "sampler":
        console.print(escape(SAMPLER), style="bold green", soft_wrap=True)
    if not later:
        console.print("[bold green]That was the last kata.[/]")
    elif first_pass:
        for soon in waiting:
            console.print(f"[green]Kata {soon.number} ({escape(soon.title)}) comes once it is "
                          "released.[/]")
        if opened:
            console.print(f"[bold green]Kata {opened.number} unlocked: {escape(opened.title)}.[/] "
                          f"Read {opened.lesson}, then run `kata check {opened.number}`.")


@cli.command("reset")
@click.argument("number", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset_command(number: int, yes: bool) -> None:
    """Put kata NUMBER's untouched skeleton back (your file is backed up first)."""
    from checker.reset import pristine_skeleton, reset

    curriculum, store = _course()
    kata = _available(curriculum, number)
    pristine_skeleton(curriculum.root, kata)  # fail before asking if it cannot be done
    if not yes and not click.confirm(f"Replace {kata.file} with the original skeleton?"):
        raise click.exceptions.Abort()
    backup = reset(curriculum.root, kata, state_dir(curriculum.root) / "backups")
    console.print(f"{kata.file} is the original skeleton again."
                  + (f" Your version is saved as {backup}." if backup else ""), markup=False)


@cli.command("run")
@click.argument("prompt", default="Hello world")
@click.option("--tokens", "new_tokens", type=click.IntRange(1, 200), default=20, show_default=True,
              help="How many tokens to generate.")
@click.option("--temperature", type=click.FloatRange(min=0.01), default=1.0, show_default=True)
@click.option("--greedy", is_flag=True, help="Always take the most likely token.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for numpy's sampler.")
@click.option("--fixtures", "fixtures_path", type=click.Path(file_okay=False, exists=True),
              default=None, help="Weights to use (e.g. built from real GPT-2 with kata dev fixtures).")
def run_model(prompt: str, new_tokens: int, temperature: float, greedy: bool, seed: int,
              fixtures_path: str | None) -> None:
    """Your own GPT-2 (the whole of Part 1) continues PROMPT."""
    import subprocess

    curriculum, store = _course()
    kata = curriculum.for_command("run")
    if kata.number not in passed_numbers(_load_progress(store)):
        errors.print(f"Kata {kata.number} has not passed yet: this runs whatever your katas do now.",
                     style="yellow")
    model_kata = curriculum.get(kata.uses[-1]) if kata.uses else kata
    env = dict(os.environ, KATA_ROOT=str(curriculum.root), PYTHONUNBUFFERED="1",
               KATA_GENERATE_MODULE=kata.module, KATA_MODEL_MODULE=model_kata.module,
               KATA_PARENT_PID=str(os.getpid()),
               PYTHONPATH=os.pathsep.join([str(curriculum.root), os.environ.get("PYTHONPATH", "")]))
    env.setdefault("MAX_EAGER_EXECUTOR", "interpreter")
    if fixtures_path:
        env["KATA_FIXTURES"] = str(Path(fixtures_path).resolve())
    with console.status("Your GPT-2 is writing ..."):
        done = subprocess.run([sys.executable, "-m", "checker.play.run_child", prompt, str(new_tokens),
                               str(temperature), "0" if greedy else "1", str(seed)],
                              cwd=curriculum.root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise LearnerCodeError(done.stderr.strip() or f"Generation failed (exit code {done.returncode}).")
    console.print(done.stdout.rstrip(), markup=False, highlight=False)
    errors.print(done.stderr.strip(), style="dim", markup=False)
    weights = Path(fixtures_path).resolve() if fixtures_path else fixtures_dir(curriculum.root)
    if random_weights(weights):  # on stderr: stdout stays the generated text alone
        errors.print(RANDOM_WEIGHTS.format(text="This text") + " " + NEXT, style="yellow", markup=False,
                     soft_wrap=True)


@cli.command("chat")
@click.argument("question", required=False)
@click.option("--gguf", "gguf_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SmolLM2-135M-Instruct's GGUF file, if you have it (default: fetched once).")
@click.option("--max-tokens", type=click.IntRange(1, 1024), default=64, show_default=True)
@click.option("--temperature", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="0 is greedy: always the most likely token.")
@click.option("--top-k", type=click.IntRange(min=1), default=None,
              help="Draw only from the k most likely tokens (your own sampler, once its kata passes).")
@click.option("--top-p", type=click.FloatRange(0.0, 1.0, min_open=True), default=None,
              help="Draw only from the most likely tokens that hold this much probability (your own "
                   "sampler).")
@click.option("--min-p", type=click.FloatRange(0.0, 1.0), default=None,
              help="Drop tokens less likely than this times the most likely one (your own sampler).")
@click.option("--repetition-penalty", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Above 1, tokens already in the conversation get less likely (your own sampler).")
@click.option("--force", is_flag=True, help="Run even though the katas have not all passed.")
def chat_command(question: str | None, gguf_path: Path | None, max_tokens: int, temperature: float,
                 top_k: int | None, top_p: float | None, min_p: float | None,
                 repetition_penalty: float | None, force: bool) -> None:
    """Your own Llama with SmolLM2-135M-Instruct's weights: one QUESTION, or a chat.

    Part 2's model; once Part 3's katas pass, with your KV cache and your sampler."""
    import json
    import subprocess

    from checker.play import chat_setup
    from checker.models.smollm2 import ensure_gguf

    curriculum, store = _course()
    kata = curriculum.for_command("chat")
    passed = passed_numbers(_load_progress(store))
    if not force and kata.number not in passed:
        raise LockedError(f"`kata chat` runs your katas up to kata {kata.number}, which has not passed "
                          f"yet. Run `kata check {kata.number}` first, or `kata chat --force` to run "
                          "them as they are.")
    settings = {name: value for name, value in (("top_k", top_k), ("top_p", top_p), ("min_p", min_p),
                ("repetition_penalty", repetition_penalty)) if value is not None}
    sampler = chat_setup.sampler_kata(curriculum, passed, settings, temperature, force)
    gguf = ensure_gguf(gguf_path, echo=lambda text: errors.print(text, style="dim", markup=False))
    model_kata = curriculum.get(kata.uses[-1]) if kata.uses else kata
    env = dict(os.environ, KATA_ROOT=str(curriculum.root), PYTHONUNBUFFERED="1",
               KATA_MODEL_MODULE=model_kata.module, KATA_LOADER_MODULE=kata.module,
               KATA_PARENT_PID=str(os.getpid()),
               PYTHONPATH=os.pathsep.join([str(curriculum.root), os.environ.get("PYTHONPATH", "")]))
    env.pop("KATA_SAMPLER_MODULE", None)
    if sampler is not None:
        env.update(KATA_SAMPLER_MODULE=sampler.module, KATA_SAMPLING=json.dumps(settings))
    env.setdefault("MAX_EAGER_EXECUTOR", "interpreter")
    env.pop("KATA_CACHE_MODULE", None)
    cache = chat_setup.cache_kata(curriculum, passed)
    if cache is not None:  # the learner's own KV cache: only new tokens go through the model
        env["KATA_CACHE_MODULE"] = cache.module
    errors.print(chat_setup.banner(curriculum, kata, sampler, temperature, settings, gguf.name, cache),
                 style="dim", markup=False, soft_wrap=True)
    done = subprocess.run([sys.executable, "-m", "checker.play.chat_child", str(gguf), str(max_tokens),
                           str(temperature), *([question] if question else [])],
                          cwd=curriculum.root, env=env)
    if done.returncode != 0:
        sys.exit(EXIT_FAIL)


@cli.command("watch")
def watch_command() -> None:
    """Re-check the current kata each time you save its file."""
    from checker.watch import watch

    curriculum, store = _course()

    def current() -> int | None:
        return current_kata([k.number for k in curriculum.available], passed_numbers(store.load()))

    def check_once(number: int) -> bool:
        passed = _check_one(curriculum, store, curriculum.get(number), False, False).passed
        done = passed_numbers(store.load()) & {k.number for k in curriculum.katas}
        console.print(escape(render.progress_bar(len(done), len(curriculum.katas))))
        return passed

    def show_hint(number: int) -> None:
        hint.callback(number, False)

    sys.exit(watch(current, lambda n: curriculum.root / curriculum.get(n).file, check_once,
                   show_hint, console.print))


@cli.command("progress")
@click.option("--json", "as_json", is_flag=True, help="Print your progress as JSON (for a class report).")
@click.option("--name", default=None, help="Your name in class reports (kept; default: git's user.name).")
@click.option("--email", default=None, help="Your email in class reports (kept; default: git's user.email).")
def progress_command(as_json: bool, name: str | None, email: str | None) -> None:
    """Your progress: who you are, each kata's status, attempts, hints and first pass."""
    from checker.output import progress_json

    curriculum, store = _course()
    if name is not None or email is not None:
        with store.update() as progress:
            learner_info.set_identity(progress, name, email)
    progress = _load_progress(store)
    learner = learner_info.identity(progress, curriculum.root)
    if as_json:
        render.print_json(progress_json.export(curriculum, progress, learner))
        return
    who = learner.get("name") or "(no name: set one with `kata progress --name \"Your Name\"`)"
    console.print(f"Learner: {who}" + (f" <{learner['email']}>" if learner.get("email") else ""),
                  markup=False)
    render.render_list(console, curriculum, progress)


@cli.command("report")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("class-report.csv"), show_default=True, help="Where to write the CSV.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("class-report.html"), show_default=True, help="Where to write the HTML page.")
@click.option("--title", default=None, help="The page's title (default: the course's name).")
def report_command(paths: tuple[Path, ...], csv_path: Path, html_path: Path, title: str | None) -> None:
    """A class report from many learners' progress: PATHS are progress files, learners' course
    folders, or folders of them. Writes a CSV and a self-contained HTML page."""
    from checker.classroom import report, report_html

    curriculum = load_curriculum(repo_root())
    built = report.build(list(paths), curriculum)
    for skipped in built.skipped:
        errors.print(f"skipped {skipped.source}: {skipped.reason}", style="yellow", markup=False,
                     soft_wrap=True)
    if not built.learners:
        raise KataError("No learner's progress found in " + ", ".join(map(str, paths)) + ". Give "
                        ".kata/progress.json files, `kata progress --json` exports, learners' course "
                        "folders, or folders holding them.")
    report.write_csv(built, csv_path)
    report_html.write(built, html_path, title)
    console.print(f"{len(built.learners)} learners, {len(built.skipped)} skipped. "
                  f"Wrote {csv_path} and {html_path}.", markup=False, soft_wrap=True)
    stuck = built.stuck
    if stuck:
        console.print(f"Where the class is stuck: kata {stuck['kata']} ({stuck['title']}), "
                      f"{stuck['trying']} learners on it have not passed ({stuck['failing']} attempts), "
                      f"{stuck['passes']} passed.", markup=False,
                      soft_wrap=True)
    marked = [l for l in built.learners if l.mismatches]
    if marked:
        console.print(f"{len(marked)} learners claim passes their files do not match: "
                      + ", ".join(l.name for l in marked[:10]) + (" ..." if len(marked) > 10 else "")
                      + ". Re-check them with `kata check --all --json` in CI.",
                      style="bold red", markup=False, soft_wrap=True)


@cli.group()
def dev() -> None:
    """Maintainer commands: rebuild fixtures, verify the course, add a kata."""


@dev.command("new")
@click.argument("slug")
@click.option("--title", default=None, help="The kata's title (default: from the slug).")
def new_kata_command(slug: str, title: str | None) -> None:
    """Scaffold kata SLUG after the last one: its folder, learner files and curriculum entry."""
    from checker.dev.scaffold import new_kata, todo_list

    root = repo_root()
    written = new_kata(root, slug, title)
    console.print(todo_list(len(load_curriculum(root).katas), written), markup=False,
                  highlight=False)


@dev.command()
@click.option("--model", "model_path", default=None,
              help="A GPT-2 checkpoint folder in the Hugging Face layout (default: the seeded tiny model).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write (default: the course's fixtures/).")
@click.option("--family", "families", multiple=True,
              help="Rebuild only this model family's files (gpt2, llama, smollm2, ...); repeatable.")
def fixtures(model_path: str | None, out_dir: Path | None, families: tuple[str, ...]) -> None:
    """Rebuild the golden fixtures from Hugging Face's own modules (needs the maintainer extra)."""
    try:
        from checker.dev import build_fixtures as builder
    except ImportError as exc:  # pragma: no cover - torch/transformers are maintainer-only
        raise KataError(f"Building fixtures needs the maintainer tools ({exc.name} is missing): "
                        "pip install -e \".[maintainer]\"") from None
    curriculum = load_curriculum(repo_root())
    out = out_dir or curriculum.root / "fixtures"
    console.print(f"Building fixtures in {out} ...")
    try:
        builder.build(out, model_path=model_path, echo=console.print, root=curriculum.root,
                      families=set(families) or None)
    except ImportError as exc:
        raise KataError(f"Building fixtures needs the maintainer tools ({exc.name} is missing): "
                        "pip install -e \".[maintainer]\"") from None
    except (OSError, KeyError) as exc:
        raise KataError(f"Cannot build fixtures: {exc}") from None
    console.print("Done; manifest.json records the sha256 of every file.")


@dev.command()
@click.argument("numbers", type=int, nargs=-1)
def verify(numbers: tuple[int, ...]) -> None:
    """Each kata's skeleton fails, its reference solution passes, its fixtures verify."""
    from checker.dev.verify import verify_katas

    curriculum = load_curriculum(repo_root())
    katas = [_available(curriculum, n) for n in numbers] if numbers else list(curriculum.available)
    ok = verify_katas(curriculum, katas, console)
    sys.exit(EXIT_PASS if ok else EXIT_FAIL)


@cli.command()
def setup() -> None:
    """Compile MAX's kernels for this machine ahead of time (once; about 12 minutes on 2 idle
    cores), and fetch SmolLM2's weights for Part 2 (once; about 100 MB)."""
    from checker.models.smollm2 import ensure_gguf
    from checker.play.warmup import warm

    code = warm(console)
    path = ensure_gguf(None, echo=lambda text: console.print(text, markup=False, highlight=False))
    console.print(f"SmolLM2-135M-Instruct for Part 2: {path}", markup=False, highlight=False)
    sys.exit(code)


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)  # unwinds: a running check kills its child on the way out


def main() -> None:
    for name in ("SIGTERM", "SIGHUP"):  # `kill`, a closed terminal
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _exit_on_signal)
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_SETUP)
    except (click.exceptions.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
        errors.print("Stopped (Ctrl-C). Nothing was recorded for what was interrupted.")
        sys.exit(130)
    except KataError as exc:
        errors.print(str(exc), style="red", markup=False)
        sys.exit(exc.exit_code)
    except Exception:  # noqa: BLE001 - a bug of ours: keep the details, show a short message
        log = _save_crash()
        errors.print(f"The checker itself failed (a bug, not your code). Details: {log}. "
                     "Please report it to your instructor or the course repository.", style="red")
        sys.exit(EXIT_SETUP)


def _save_crash() -> str:
    try:
        folder = state_dir(repo_root())
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "last-crash.txt"
        path.write_text(traceback.format_exc(), encoding="utf-8")
        return str(path)
    except OSError:
        return traceback.format_exc(limit=-1).strip().splitlines()[-1]


if __name__ == "__main__":
    main()

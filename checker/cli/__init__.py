"""The `kata` command: parse, call, print, exit. Exit codes: 0 pass, 1 fail, 2 setup, 3 locked.

Options in, words out, no policy: each command group lives in its own module (learner.py: the
everyday commands; check.py: `kata check`; play.py: run, chat, setup; classroom.py: `kata report`;
dev.py: `kata dev`) and is registered here. What a check decides is checker/check/service.py's.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback

import click
from rich.markup import escape

from checker import __version__
from checker.cli import check, classroom, dev, learner, play
from checker.cli.common import console, course, errors, load_progress, warm_ahead
from checker.errors import EXIT_SETUP, KataError
from checker.output import terminal
from checker.paths import repo_root, state_dir
from checker.play import warmer
from checker.progress import current_kata, passed_numbers
from checker.protocol import Env


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kata")
@click.option("--no-warm", is_flag=True,
              help="No background warm-up of MAX's kernels for your next katas (stops a running one). "
                   "KATA_NO_WARM=1 does the same for every command.")
@click.pass_context
def cli(ctx: click.Context, no_warm: bool) -> None:
    """Build language models from scratch with MAX, one kata at a time, checked against Hugging Face."""
    if no_warm:
        os.environ[Env.NO_WARM] = "1"
        if warmer.stop():
            errors.print("Stopped the background warm-up.", style="dim")
    if ctx.invoked_subcommand is None:
        curriculum, store = course()
        progress = load_progress(store)
        warm_ahead(curriculum, progress, show=True)
        passed = passed_numbers(progress)
        numbers = [k.number for k in curriculum.available]
        console.print(escape(terminal.progress_bar(len(passed & set(numbers)), len(curriculum.katas))))
        current = current_kata(numbers, passed)
        if current is None:
            console.print("Every available kata passes. Well done!")
        else:
            kata = curriculum.get(current)
            console.print(f"Current kata: {current}. {kata.title}  (lesson: {kata.lesson}, "
                          f"your file: {kata.file})")
            console.print(f"Next: edit {kata.file}, then run [bold]kata check {current}[/]. "
                          f"Stuck? [bold]kata hint {current}[/]")


for command in (*learner.COMMANDS, check.check, *play.COMMANDS, *classroom.COMMANDS, *dev.COMMANDS):
    cli.add_command(command)


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


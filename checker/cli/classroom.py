"""`kata report`: the instructor's class report from many learners' progress files."""

from __future__ import annotations

from pathlib import Path

import click

from checker.cli.common import console, errors
from checker.curriculum import load_curriculum
from checker.errors import KataError
from checker.paths import repo_root


@click.command("report")
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
    marked = [learner for learner in built.learners if learner.mismatches]
    if marked:
        console.print(f"{len(marked)} learners claim passes their files do not match: "
                      + ", ".join(learner.name for learner in marked[:10])
                      + (" ..." if len(marked) > 10 else "")
                      + ". Re-check them with `kata check --all --json` in CI.",
                      style="bold red", markup=False, soft_wrap=True)


COMMANDS = [report_command]

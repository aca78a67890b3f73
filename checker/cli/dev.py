"""`kata dev`: the maintainers' commands: scaffold a kata, rebuild fixtures, verify the course."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from checker.cli.common import available, console
from checker.curriculum import load_curriculum
from checker.errors import EXIT_FAIL, EXIT_PASS, KataError
from checker.paths import repo_root

MAINTAINER_TOOLS = "pip install -e \".[maintainer]\""


@click.group()
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
    console.print(todo_list(load_curriculum(root).katas[-1].number, written), markup=False,
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
        from checker.dev import build_fixtures
    except ImportError as exc:  # pragma: no cover - torch/transformers are maintainer-only
        raise KataError(f"Building fixtures needs the maintainer tools ({exc.name} is missing): "
                        f"{MAINTAINER_TOOLS}") from None
    curriculum = load_curriculum(repo_root())
    out = out_dir or curriculum.root / "fixtures"
    console.print(f"Building fixtures in {out} ...")
    try:
        build_fixtures.build(out, model_path=model_path, echo=console.print, root=curriculum.root,
                             families=set(families) or None)
    except ImportError as exc:
        raise KataError(f"Building fixtures needs the maintainer tools ({exc.name} is missing): "
                        f"{MAINTAINER_TOOLS}") from None
    except (OSError, KeyError) as exc:
        raise KataError(f"Cannot build fixtures: {exc}") from None
    console.print("Done; manifest.json records the sha256 of every file.")


@dev.command()
@click.argument("numbers", type=int, nargs=-1)
def verify(numbers: tuple[int, ...]) -> None:
    """Each kata's skeleton fails, its reference solution passes, its fixtures verify."""
    from checker.dev.verify import verify_katas

    curriculum = load_curriculum(repo_root())
    katas = [available(curriculum, n) for n in numbers] if numbers else list(curriculum.available)
    ok = verify_katas(curriculum, katas, console)
    sys.exit(EXIT_PASS if ok else EXIT_FAIL)


COMMANDS = [dev]

"""The learner's model at work: `kata run` (Part 1's GPT-2 writes), `kata chat` (Part 2's Llama
answers), `kata serve` (Part 4's scheduler behind an OpenAI-compatible server), `kata setup`
(MAX's kernels and SmolLM2's file, ahead of time).

Each runs the learner's code in a child process (checker/play/), so that a crash or an endless
loop in it never takes `kata` down, and ends with `kata` (checker/child/lifeline.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from checker import protocol
from checker.cli import texts
from checker.cli.common import console, course, errors, load_progress
from checker.errors import EXIT_FAIL, LearnerCodeError, LockedError
from checker.fixture_files import random_weights
from checker.paths import fixtures_dir
from checker.play import warmer
from checker.play.chat_setup import MOST_TOKENS
from checker.progress import passed_numbers
from checker.protocol import Env


@click.command("run")
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
    curriculum, store = course()
    kata = curriculum.for_command("run")
    if kata.number not in passed_numbers(load_progress(store)):
        errors.print(f"Kata {kata.number} has not passed yet: this runs whatever your katas do now.",
                     style="yellow")
    model_kata = curriculum.get(kata.uses[-1]) if kata.uses else kata
    env = protocol.child_env(curriculum.root, **{Env.GENERATE_MODULE: kata.module,
                                                 Env.MODEL_MODULE: model_kata.module})
    if fixtures_path:
        env[Env.FIXTURES] = str(Path(fixtures_path).resolve())
    with console.status("Your GPT-2 is writing ..."), warmer.foreground():
        done = subprocess.run([sys.executable, "-m", "checker.play.run_child", prompt,
                               str(new_tokens), str(temperature), "0" if greedy else "1", str(seed)],
                              cwd=curriculum.root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise LearnerCodeError(done.stderr.strip() or f"Generation failed (exit code {done.returncode}).")
    console.print(done.stdout.rstrip(), markup=False, highlight=False)
    errors.print(done.stderr.strip(), style="dim", markup=False)
    weights = Path(fixtures_path).resolve() if fixtures_path else fixtures_dir(curriculum.root)
    if random_weights(weights):  # on stderr: stdout stays the generated text alone
        errors.print(texts.RANDOM_WEIGHTS.format(text="This text") + " " + texts.NEXT,
                     style="yellow", markup=False, soft_wrap=True)


def _unlocked(command: str, runs: str, force: bool):
    """(curriculum, the kata that unlocks `kata COMMAND`, the passed numbers); LockedError
    (exit 3) while that kata has not passed, unless forced."""
    curriculum, store = course()
    kata = curriculum.for_command(command)
    passed = passed_numbers(load_progress(store))
    if not force and kata.number not in passed:
        raise LockedError(f"`kata {command}` {runs} kata {kata.number}, which has not passed yet. "
                          f"Run `kata check {kata.number}` first, or `kata {command} --force` to run "
                          "your katas as they are.")
    return curriculum, kata, passed


@click.command("chat")
@click.argument("question", required=False)
@click.option("--gguf", "gguf_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SmolLM2-135M-Instruct's GGUF file, if you have it (default: fetched once).")
@click.option("--max-tokens", type=click.IntRange(1, MOST_TOKENS), default=64, show_default=True,
              help="Cut each answer after this many tokens (chat says when it did).")
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
@click.option("--speculative", type=click.Choice(["prompt-lookup", "early-exit"]), default=None,
              help="Decode with your speculative decoding and this drafter (greedy: the same "
                   "tokens); chat reports the acceptance rate.")
@click.option("--force", is_flag=True, help="Run even though the katas have not all passed.")
def chat_command(question: str | None, gguf_path: Path | None, max_tokens: int, temperature: float,
                 top_k: int | None, top_p: float | None, min_p: float | None,
                 repetition_penalty: float | None, speculative: str | None, force: bool) -> None:
    """Your own Llama with SmolLM2-135M-Instruct's weights: one QUESTION, or a chat.

    Part 2's model; once Part 3's katas pass, with your KV cache and your sampler."""
    from checker.models.smollm2 import ensure_gguf
    from checker.play import chat_setup

    curriculum, kata, passed = _unlocked("chat", "runs your katas up to", force)
    settings = {name: value for name, value in (("top_k", top_k), ("top_p", top_p), ("min_p", min_p),
                ("repetition_penalty", repetition_penalty)) if value is not None}
    sampler = chat_setup.sampler_kata(curriculum, passed, settings, temperature, force)
    spec_kata = chat_setup.speculative_kata(curriculum, passed, speculative, temperature, force)
    gguf = ensure_gguf(gguf_path, echo=lambda text: errors.print(text, style="dim", markup=False))
    model_kata = curriculum.get(kata.uses[-1]) if kata.uses else kata
    env = protocol.child_env(curriculum.root, **{Env.MODEL_MODULE: model_kata.module,
                                                 Env.LOADER_MODULE: kata.module})
    if sampler is not None:
        env.update({Env.SAMPLER_MODULE: sampler.module, Env.SAMPLING: json.dumps(settings)})
    cache = chat_setup.cache_kata(curriculum, passed)
    if cache is not None:  # the learner's own KV cache: only new tokens go through the model
        env[Env.CACHE_MODULE] = cache.module
    if spec_kata is not None:  # their crop-able KVCache and speculative_generate, over their cache kata
        cache = cache or curriculum.provider("cache")
        env.update({Env.CACHE_MODULE: cache.module, Env.SPECULATIVE_MODULE: spec_kata.module,
                    Env.SPECULATIVE: speculative})
    errors.print(chat_setup.banner(curriculum, kata, sampler, temperature, settings, gguf.name, cache,
                                   (spec_kata, speculative) if spec_kata else None),
                 style="dim", markup=False, soft_wrap=True)
    with warmer.foreground():
        done = subprocess.run([sys.executable, "-m", "checker.play.chat_child", str(gguf),
                               str(max_tokens), str(temperature), *([question] if question else [])],
                              cwd=curriculum.root, env=env)
    if done.returncode != 0:
        sys.exit(EXIT_FAIL)


@click.command()
@click.option("--all", "everything", is_flag=True,
              help="Compile every MAX operation (MAX's own warm-interpreter-cache), not only the "
                   "ones the course uses.")
def setup(everything: bool) -> None:
    """Compile the MAX kernels the course uses for this machine ahead of time (once), and fetch
    SmolLM2's weights for Part 2 (once; about 100 MB)."""
    from checker.models.smollm2 import ensure_gguf
    from checker.play.warmup import warm

    code = warm(console, everything)
    path = ensure_gguf(None, echo=lambda text: console.print(text, markup=False, highlight=False))
    console.print(f"SmolLM2-135M-Instruct for Part 2: {path}", markup=False, highlight=False)
    sys.exit(code)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--max-batch-size", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Your scheduler's slots: requests decoded together.")
@click.option("--gguf", "gguf_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SmolLM2-135M-Instruct's GGUF file, if you have it (default: fetched once).")
@click.option("--tiny", is_flag=True, help="Serve the course's tiny seeded Llama instead (fast, "
                                           "random weights: for trying the server and the tests).")
@click.option("--force", is_flag=True, help="Run even though the katas have not all passed.")
def serve_command(host: str, port: int, max_batch_size: int, gguf_path: Path | None, tiny: bool,
                  force: bool) -> None:
    """An OpenAI-compatible server (/v1/chat/completions, /v1/completions, /v1/models) running
    your own model, KV cache, sampler and scheduler."""
    from checker.models.smollm2 import ensure_gguf
    from checker.play import chat_setup

    curriculum, kata, passed = _unlocked("serve", "runs your scheduler from", force)
    gguf = ensure_gguf(gguf_path, echo=lambda text: errors.print(text, style="dim", markup=False))
    model_kata = curriculum.get(kata.uses[-1]) if kata.uses else kata  # the batched model's kata
    env = protocol.child_env(curriculum.root, **{Env.SCHEDULER_MODULE: kata.module,
                                                 Env.MODEL_MODULE: model_kata.module,
                                                 Env.LOADER_MODULE: curriculum.for_command("chat").module})
    sampler = chat_setup.sampler_kata(curriculum, passed, {}, 1.0, force)
    if sampler is not None:
        env[Env.SAMPLER_MODULE] = sampler.module
    with warmer.foreground():  # no background warm-up beside the server
        done = subprocess.run([sys.executable, "-m", "checker.play.serve.child", host, str(port),
                               str(max_batch_size), "tiny" if tiny else str(gguf)],
                              cwd=curriculum.root, env=env)
    if done.returncode != 0:
        sys.exit(EXIT_FAIL)


COMMANDS = [run_model, chat_command, serve_command, setup]

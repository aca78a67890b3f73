"""Table 13: `kata chat`'s start-up, and its speed before the KV cache kata passes.

Runs the whole `kata chat QUESTION` command (parent and child, as a learner types it) on a copy of
the course whose katas/ hold the reference solutions, SmolLM2's GGUF file from its usual place,
and measures from the command's start:
  first_token_s   until the answer's first text reaches stdout (what the learner waits for)
  total_s         the whole command
  rate            the child's own line after the answer (tokens in seconds)
  parts           where the child's start went (checker.play.chat_child's marks, seconds each)
for each case:
  nocache_first   the KV cache kata not passed; the weights cache empty (the first chat)
  nocache_second  the same, again (the load_gguf result kept by the first)
  cached_second   the KV cache kata passed too, the weights cache and MAX's cache warm
--baseline DIR runs the same cases with the checker of another checkout (DIR: its repository
root, e.g. the main branch's) as "before". `--json` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, load, machine, solved_course, table

QUESTION = "What is the capital of France?"
NOTE = re.compile(r"\((\d+) tokens? in ([\d.]+) s")


def _passed(course: Path, numbers) -> None:
    sys.path.insert(0, str(REPO))
    from checker.progress import ProgressStore, record_attempt

    with ProgressStore(course / ".kata").update() as progress:
        for number in numbers:
            record_attempt(progress, number, "pass", None)


def run_chat(course: Path, weights: Path, tokens: int, timeout: float) -> dict:
    """One `kata chat QUESTION --max-tokens TOKENS` on course; its timings."""
    timings = Path(tempfile.mkstemp(prefix="chat-marks-", suffix=".json")[1])
    env = dict(os.environ, KATA_ROOT=str(course), PYTHONPATH=str(course), COLUMNS="200",
               KATA_WEIGHTS_CACHE=str(weights), KATA_TIMINGS=str(timings), PYTHONUNBUFFERED="1")
    env.pop("PYTEST_ADDOPTS", None)
    result = {"load_before": load()}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "checker.cli", "chat", QUESTION, "--max-tokens",
                             str(tokens)], cwd=course, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    first = os.read(proc.stdout.fileno(), 1)  # unbuffered: communicate() reads the rest
    result["first_token_s"] = round(time.perf_counter() - started, 2) if first.strip() else None
    out, err = proc.communicate(timeout=timeout)
    result["total_s"] = round(time.perf_counter() - started, 2)
    result["rc"] = proc.returncode
    result["answer"] = (first + out).decode(errors="replace").strip()
    note = NOTE.search(err.decode(errors="replace"))
    if note:
        result["tokens"], result["answer_s"] = int(note.group(1)), float(note.group(2))
    try:
        result["parts"] = json.loads(timings.read_text() or "{}")
    except (OSError, ValueError):
        result["parts"] = {}
    timings.unlink(missing_ok=True)
    result["stderr"] = [line for line in err.decode(errors="replace").splitlines() if line.strip()][-6:]
    result["load_after"] = load()
    return result


CASES = ("nocache_first", "nocache_second", "cached_second")


def cases(source: Path, tokens: int, slow_tokens: int, timeout: float, wanted=CASES) -> dict:
    """The cases wanted, on a solved course copied from `source` (its checker included)."""
    from checker.curriculum import load_curriculum

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        course = solved_course(Path(tmp) / "course", source)
        weights = Path(tmp) / "weights"
        cache = load_curriculum(course).provider("cache")
        _passed(course, range(1, cache.number))
        if "nocache_first" in wanted or "nocache_second" in wanted:
            results["nocache_first"] = run_chat(course, weights, slow_tokens, timeout)
        if "nocache_second" in wanted:
            results["nocache_second"] = run_chat(course, weights, slow_tokens, timeout)
        if "cached_second" in wanted:
            _passed(course, [cache.number])
            run_chat(course, weights, 1, timeout)  # MAX's graph cache warm for this checker's graph
            results["cached_second"] = run_chat(course, weights, tokens, timeout)
    return results


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout's root: 'before'")
    parser.add_argument("--tokens", type=int, default=8, help="answer length with the KV cache")
    parser.add_argument("--slow-tokens", type=int, default=3, help="answer length without it")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--cases", default=",".join(CASES), help="which of " + ", ".join(CASES))
    parser.add_argument("--baseline-cases", default=None, help="the baseline's (default: --cases)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    summary = {"machine": machine().splitlines()[:3], "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "load_before": load()}
    wanted = args.cases.split(",")
    if args.baseline:
        summary["before"] = cases(args.baseline.resolve(), args.tokens, args.slow_tokens, args.timeout,
                                  (args.baseline_cases or args.cases).split(","))
    summary["after"] = cases(REPO, args.tokens, args.slow_tokens, args.timeout, wanted)
    summary["load_after"] = load()
    if args.json:
        return json.dumps(summary)
    rows = []
    for side in ("before", "after"):
        for case, r in summary.get(side, {}).items():
            rate = f"{r['tokens']} in {r['answer_s']} s" if "tokens" in r else "-"
            rows.append([side, case, r["first_token_s"], r["total_s"], rate,
                         " ".join(f"{k}={v}" for k, v in r["parts"].items()),
                         f"{r['load_before']} -> {r['load_after']}"])
    return table(["checker", "case", "first token s", "total s", "answer", "child's parts (s)", "load"], rows)


if __name__ == "__main__":
    print(main())

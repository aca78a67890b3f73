"""`kata serve` under load, through the official `openai` client (RESULTS.md section 16).

Starts `kata serve --tiny --force` on a copy of the course whose katas are the reference
solutions, then, with greedy chat completions of MAX_TOKENS tokens each (streamed):
  - 8 requests one after another, then the same 8 at once from 8 threads: aggregate tokens/s;
  - time to first token of a request alone, and of one arriving while 7 others stream.
`transformers serve` needs FastAPI (transformers[serving]), which this project does not install:
the script says so in its output when it is missing. Prints one JSON object.

    python bench/serve_bench.py [--max-tokens 32] [--port 8811]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MODEL = "kata-tiny-llama"
QUESTIONS = ["What is the capital of France?", "Name a colour.", "Count to five.",
             "Why is the sky blue?", "Say hello.", "What is 2 + 2?", "Write a haiku.",
             "Who wrote Hamlet?"]


def course_with_solutions() -> Path:
    import shutil

    from checker.curriculum import load_curriculum
    from checker.dev.verify import solution_katas

    dest = Path(tempfile.mkdtemp(prefix="serve-bench-")) / "course"
    dest.mkdir(parents=True)
    shutil.copy2(REPO / "curriculum.yaml", dest / "curriculum.yaml")
    for folder in ("katas", "fixtures", "checker"):
        shutil.copytree(REPO / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    solution_katas(load_curriculum(dest), dest / "katas")
    return dest


def start(course: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, KATA_ROOT=str(course), PYTHONPATH=str(course))
    process = subprocess.Popen([sys.executable, "-m", "checker.cli", "serve", "--tiny", "--force",
                                "--port", str(port)], cwd=course, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                return process
        except OSError:
            time.sleep(1)
    process.terminate()
    raise SystemExit("kata serve did not start")


def stream(client, question: str, tokens: int) -> dict:
    """One streamed greedy chat completion: its tokens, seconds, and time to first token."""
    started = time.monotonic()
    first, count = None, 0
    chunks = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": question}], max_tokens=tokens,
        temperature=0, stream=True, stream_options={"include_usage": False})
    for chunk in chunks:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.monotonic() - started
            count += 1  # one chunk per token with visible text
    return {"seconds": time.monotonic() - started, "first": first, "chunks": count}


def usage_tokens(client, question: str, tokens: int) -> int:
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}],
                                           max_tokens=tokens, temperature=0)
    return reply.usage.completion_tokens


def main() -> None:
    import openai

    parser = argparse.ArgumentParser()
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    port = args.port
    if not port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    process = start(course_with_solutions(), port)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="kata", timeout=600,
                           max_retries=0)
    try:
        n = args.max_tokens
        tokens = [usage_tokens(client, q, n) for q in QUESTIONS]  # warm-up: every shape compiled
        started = time.monotonic()
        for q in QUESTIONS:
            stream(client, q, n)
        sequential = time.monotonic() - started
        results: dict[int, dict] = {}
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, stream(client, QUESTIONS[i], n)))
                   for i in range(len(QUESTIONS))]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        concurrent = time.monotonic() - started
        alone = stream(client, QUESTIONS[0], n)["first"]
        others = [threading.Thread(target=lambda i=i: stream(client, QUESTIONS[i], 4 * n)) for i in range(1, 8)]
        for t in others:
            t.start()
        time.sleep(5)  # the 7 are streaming
        arriving = stream(client, QUESTIONS[0], n)["first"]
        for t in others:
            t.join()
    finally:
        process.terminate()
        process.wait(timeout=60)
    total = sum(tokens)
    try:
        import fastapi  # noqa: F401
        hf = "not run by this script yet"
    except ImportError:
        hf = ("not run: `transformers serve` needs FastAPI (pip install 'transformers[serving]'), "
              "which this project does not install")
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "model": MODEL, "max_tokens": n, "requests": len(QUESTIONS), "tokens": total,
        "sequential_s": round(sequential, 2), "sequential_tokens_per_s": round(total / sequential, 2),
        "concurrent_s": round(concurrent, 2), "concurrent_tokens_per_s": round(total / concurrent, 2),
        "speedup": round(sequential / concurrent, 2),
        "ttft_alone_s": round(alone, 3), "ttft_arriving_while_7_stream_s": round(arriving, 3),
        "transformers_serve": hf,
    }, indent=2))


if __name__ == "__main__":
    main()

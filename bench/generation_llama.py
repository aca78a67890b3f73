"""Table 6: greedy generation on the CPU, the course's reference solutions against transformers.

For SmolLM2-135M-Instruct (its GGUF file) and the course's tiny Llama (fixtures/), in one
process, the same prompt on both sides:
  hf      transformers' `generate`, greedy, with its KV cache (a streamer timestamps each token)
  ours    the reference solutions of katas 13-19 run the way `kata chat` runs them:
          checker.play.decode.Cached (the model and KV cache as one compiled graph, symbolic lengths)
          and a numpy argmax per token
Both are warmed up first (ours: the compile, minutes on a cold MAX cache, reported as
ours_ready_s), then run in turn --rounds times (so that both see the same load on a shared
machine); each figure is the median over the rounds (per_round has them all).
first_token_s: the prompt in, the first token out; tokens_per_s: every later token
(new_tokens - 1 of them) over the time they took. same_tokens: every greedy sequence equal.
bytes_per_token: the float32 weights a decoding step reads (every matrix once, the embedding's
one row aside: the head reads the tied matrix in full); stream_gb_s: numpy reading a buffer of
that size on this machine now, i.e. the speed limit of a decoder that streams its weights.
--without-cache adds Part 2's no-cache loop (checker.play.decode.NoCache: compiled per fixed
length, the 64-token graph minutes the first time on a machine; until 2026-12-08 each forward
staged op by op, minutes on SmolLM2). `--json` prints one JSON
object: SmolLM2's numbers at the top level, the tiny model's under "tiny".
"""

from __future__ import annotations

from checker.child import sigint

sigint.install()  # before MAX, as every process that runs learner code does

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from common import REPO, load, machine, scratch, table  # noqa: E402

os.environ.setdefault("MAX_EAGER_EXECUTOR", "interpreter")  # as `kata chat` runs MAX
QUESTION = "Write a short story about a lighthouse keeper who finds a message in a bottle."


def _prompt(tokenizer, length: int) -> list[int]:
    text = tokenizer.apply_chat_template([{"role": "user", "content": QUESTION}], add_generation_prompt=True)
    ids = tokenizer.encode(text)
    while len(ids) < length:
        ids = ids + ids
    return ids[-length:]


# --- the two models, each side --------------------------------------------------------------

def _hf_smollm2(gguf: Path):
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                dtype=torch.float32).eval()


def _hf_tiny():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from checker.models.llama_golden import TINY

    model = LlamaForCausalLM(LlamaConfig(**TINY)).eval()  # transformers' default attention (sdpa)
    state = {k: torch.from_numpy(v) for k, v in np.load(REPO / "fixtures" / "llama_weights.npz").items()}
    state["lm_head.weight"] = state["model.embed_tokens.weight"]
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    return model


def _katas(course: Path):
    """The course's chat katas as `kata chat` finds them: (loader, cache module, model module)."""
    import importlib

    from checker.curriculum import load_curriculum

    curriculum = load_curriculum(course)
    base = curriculum.for_command("chat")
    cache_kata = curriculum.provider("cache")
    for kata in (base, cache_kata, curriculum.get(base.uses[-1])):  # unreleased ones too
        target = course / kata.file
        if not target.exists():
            target.write_bytes((course / kata.solution).read_bytes())
    sys.path.insert(0, str(course))
    return (importlib.import_module(base.module), importlib.import_module(cache_kata.module),
            importlib.import_module(curriculum.get(base.uses[-1]).module))


# --- timing ---------------------------------------------------------------------------------

def _ours_greedy(decoder, ids: list[int], new: int, after_first=None) -> tuple[list[int], list[float]]:
    """Greedy tokens and the time each was chosen, from the first call, as `kata chat` loops."""
    ids, tokens, times = list(ids), [], []
    started = time.perf_counter()
    for _ in range(new):
        token = int(np.argmax(decoder.next_logits(ids)))
        times.append(time.perf_counter() - started)
        if after_first and len(times) == 1:
            after_first()
        tokens.append(token)
        ids.append(token)
    return tokens, times


def _hf_greedy(model, ids: list[int], new: int) -> tuple[list[int], list[float]]:
    import torch
    from transformers.generation.streamers import BaseStreamer

    class Clock(BaseStreamer):
        def __init__(self):
            self.times, self.prompt_seen = [], False

        def put(self, value):
            if self.prompt_seen:  # the first put is the prompt itself
                self.times.append(time.perf_counter() - started)
            self.prompt_seen = True

        def end(self):
            pass

    clock = Clock()
    started = time.perf_counter()
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=new, min_new_tokens=new,
                             do_sample=False, streamer=clock)
    return out[0, len(ids):].tolist(), clock.times


def _rates(times: list[float]) -> tuple[float, float]:
    """(seconds to the first token, tokens per second after it)."""
    return times[0], (len(times) - 1) / max(times[-1] - times[0], 1e-9)


def stream_gb_s(nbytes: int, reps: int = 3) -> float:
    """How fast numpy reads `nbytes` of float32 here, now (best of reps): one core's stream."""
    buffer = np.ones(nbytes // 4, dtype=np.float32)
    best = float("inf")
    for _ in range(reps):
        started = time.perf_counter()
        buffer.sum()
        best = min(best, time.perf_counter() - started)
    return nbytes / best / 1e9


def weight_bytes_per_token(state: dict) -> int:
    """Bytes of float32 weights one decoding step reads: each distinct matrix once; the embedding
    is read in full by the tied head (or one row of it, untied)."""
    seen, total = set(), 0
    for name, array in state.items():
        if id(array) in seen or name == "model.embed_tokens.weight" and "lm_head.weight" in state:
            continue
        seen.add(id(array))
        total += array.size * 4
    return total


def measure(name: str, hf, model_class, cache_class, config, state: dict, ids: list[int],
            new: int, rounds: int, without_cache_class=None) -> dict:
    """Both sides, `rounds` times in turn (so that both see the same load), after a warm-up."""
    from checker.play.decode import Cached, NoCache, with_weights

    result = {"model": name, "load_before": load(), "prompt_tokens": len(ids), "new_tokens": new,
              "rounds": rounds}
    _hf_greedy(hf, ids, 2)  # warm-up
    model = with_weights(model_class, config, state)
    started = time.perf_counter()
    decoder = Cached(model, cache_class, config, say=lambda text: print(text, file=sys.stderr))
    decoder.prepare()
    _ours_greedy(decoder, ids, 2)  # warm-up
    result["ours_ready_s"] = round(time.perf_counter() - started, 2)
    hf_runs, our_runs, graph_ms, host_ms, loads = [], [], [], [], []
    for _ in range(rounds):
        hf_tokens, hf_times = _hf_greedy(hf, ids, new)
        hf_runs.append((hf_tokens, *_rates(hf_times)))
        our_tokens, our_times = _ours_greedy(  # the decoding steps' timings (not the prompt's)
            decoder, ids, new, after_first=lambda: decoder.timings.update(graph=0.0, host=0.0, steps=0))
        our_runs.append((our_tokens, *_rates(our_times)))
        steps = max(decoder.timings["steps"], 1)
        graph_ms.append(1000 * decoder.timings["graph"] / steps)
        host_ms.append(1000 * decoder.timings["host"] / steps)
        loads.append(load())
    hf_rate, our_rate = (statistics.median(run[2] for run in runs) for runs in (hf_runs, our_runs))
    nbytes = weight_bytes_per_token(state)
    gb_s = stream_gb_s(nbytes)
    result.update(
        hf_tokens_per_s=round(hf_rate, 2), ours_tokens_per_s=round(our_rate, 2),
        ratio=round(our_rate / hf_rate, 2),
        same_tokens=all(ours[0] == theirs[0] == hf_runs[0][0] for ours, theirs in zip(our_runs, hf_runs)),
        hf_first_token_s=round(statistics.median(run[1] for run in hf_runs), 3),
        ours_first_token_s=round(statistics.median(run[1] for run in our_runs), 3),
        ours_path=decoder.path,
        # the fastest round of each side: what it does while the shared machine leaves it alone
        hf_best_tokens_per_s=round(max(run[2] for run in hf_runs), 2),
        ours_best_tokens_per_s=round(max(run[2] for run in our_runs), 2),
        per_round={"hf_tokens_per_s": [round(run[2], 2) for run in hf_runs],
                   "ours_tokens_per_s": [round(run[2], 2) for run in our_runs], "load": loads},
        # where a decoding step's time goes (median round): the compiled graph running, ids in
        # and logits out, and the rest (Python: the loop, the argmax, the decoder's bookkeeping)
        ours_ms_per_token={"total": round(1000 / our_rate, 2), "graph": round(statistics.median(graph_ms), 2),
                           "host": round(statistics.median(host_ms), 3),
                           "python": round(1000 / our_rate - statistics.median(graph_ms)
                                           - statistics.median(host_ms), 2)},
        bytes_per_token=nbytes, stream_gb_s=round(gb_s, 1),
        stream_limit_tokens_per_s=round(gb_s * 1e9 / nbytes, 1),
        ours_gb_s=round(nbytes * our_rate / 1e9, 1), hf_gb_s=round(nbytes * hf_rate / 1e9, 1))
    if without_cache_class is not None:  # Part 2's loop: the whole sequence per token
        plain = NoCache(with_weights(without_cache_class, config, state))
        plain_tokens, plain_times = _ours_greedy(plain, ids, new)
        first, rate = _rates(plain_times)
        result.update(no_cache_tokens_per_s=round(rate, 3), no_cache_first_token_s=round(first, 2),
                      no_cache_same_tokens=plain_tokens == hf_runs[0][0])
    result["tokens"] = hf_runs[0][0]
    result["load_after"] = load()
    return result


def main(argv=None) -> str:
    import torch

    from checker.models.llama_tokenizer import GGUFTokenizer
    from checker.models.smollm2 import ensure_gguf

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="both sides this many times, in turn")
    parser.add_argument("--models", default="smollm2,tiny", help="smollm2, tiny, or both (the default)")
    parser.add_argument("--without-cache", action="store_true", help="also Part 2's no-cache loop")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    gguf = ensure_gguf(None, echo=lambda text: print(text, file=sys.stderr))
    ids = _prompt(GGUFTokenizer.from_gguf(gguf), args.prompt_tokens)
    top = {"machine": machine().splitlines()[:3], "load_before": load(),
           "torch_threads": torch.get_num_threads()}
    results = {}
    with scratch("bench-llama-") as (_, course):
        loader, cached, plain = _katas(course)
        if "smollm2" in args.models:
            config, state = loader.config_from_gguf(gguf), loader.load_gguf(gguf)
            results["smollm2"] = measure("SmolLM2-135M", _hf_smollm2(gguf), cached.CachedLlamaForCausalLM,
                                         cached.KVCache, config, state, ids, args.new_tokens,
                                         args.rounds, plain.LlamaForCausalLM if args.without_cache else None)
        if "tiny" in args.models:
            config = sys.modules[cached.LlamaConfig.__module__].LlamaConfig(
                **json.loads((REPO / "fixtures" / "llama_config.json").read_text()))
            state = dict(np.load(REPO / "fixtures" / "llama_weights.npz"))
            state["lm_head.weight"] = state["model.embed_tokens.weight"]
            results["tiny"] = measure("tiny Llama", _hf_tiny(), cached.CachedLlamaForCausalLM,
                                      cached.KVCache, config, state, ids, args.new_tokens,
                                      args.rounds, plain.LlamaForCausalLM if args.without_cache else None)
    first = results.get("smollm2") or results["tiny"]
    summary = {**top, **{k: v for k, v in first.items() if k != "load_before"}}
    if "smollm2" in results and "tiny" in results:
        summary["tiny"] = results["tiny"]
    summary["load_after"] = load()
    if args.json:
        return json.dumps(summary)
    rows = [[r["model"], r["prompt_tokens"], r["new_tokens"], r["hf_tokens_per_s"], r["ours_tokens_per_s"],
             f"{r['ratio']}x", "yes" if r["same_tokens"] else "NO", r["hf_first_token_s"],
             r["ours_first_token_s"], r["ours_path"], r["ours_ready_s"],
             f"{r['ours_gb_s']} of {r['stream_gb_s']}", f"{r['load_before']} -> {r['load_after']}"]
            for r in results.values()]
    return table(["model", "prompt", "new", "hf tokens/s", "ours tokens/s", "ours/hf", "same tokens",
                  "hf first token s", "ours first token s", "ours path", "ours ready s",
                  "ours weight GB/s of stream GB/s", "load"], rows)


if __name__ == "__main__":
    print(main())

"""Table 17: speculative decoding (kata 23) on the CPU, SmolLM2-135M-Instruct, an input-grounded
task (the prompt holds a passage and asks for it back), greedy, in one process:
  hf        transformers' `generate`, greedy, with its KV cache (plain: no drafter)
  hf_lookup transformers' `generate(prompt_lookup_num_tokens=10)` (for reference)
  ours      the reference katas as `kata chat` runs them: checker.play.decode.Cached, one token
            per forward (generation_llama.py's "ours")
  spec      the reference kata 23 as `kata chat --speculative prompt-lookup` runs it:
            speculative_generate with prompt_lookup (10 tokens, n-grams up to 2) over
            checker.play.decode.Verifier (every new position's logits, compiled once)
Each side is warmed up, then all run in turn --rounds times (the same load on a shared machine);
each figure is the median round. tokens_per_s counts every new token over the whole generation
(the prompt's forward included, on every side). same_tokens: every sequence equal to hf's.
acceptance: accepted drafted tokens over drafted ones; tokens_per_forward: new tokens over model
calls, whose limit is lookup_tokens + 1 (every draft accepted, plus the bonus token).
`--json` prints one JSON object.
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

import numpy as np  # noqa: E402

from common import load, machine, scratch, table  # noqa: E402
from generation_llama import _hf_smollm2, _katas  # noqa: E402

os.environ.setdefault("MAX_EAGER_EXECUTOR", "interpreter")  # as `kata chat` runs MAX
PASSAGE = ("The lighthouse stood on a narrow spit of rock at the mouth of the bay. Every evening, "
           "an hour before sunset, the keeper climbed the one hundred and twelve steps to the lamp "
           "room, trimmed the wick, polished the great lens and wound the clockwork that turned it. "
           "Ships passing in the night saw its beam sweep across the water every ten seconds, and "
           "knew where the rocks were. In forty years the light had never once gone out.")
TASK = "Repeat the following passage exactly, word for word:\n\n"


def _greedy(decoder, ids, new):
    ids, out = list(ids), []
    for _ in range(new):
        token = int(np.argmax(decoder.next_logits(ids)))
        out.append(token)
        ids.append(token)
    return out


def _hf(model, ids, new, **kwargs):
    import torch

    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=new, min_new_tokens=new,
                             do_sample=False, **kwargs)
    return out[0, len(ids):].tolist()


def _timed(call):
    started = time.perf_counter()
    value = call()
    return value, time.perf_counter() - started


def main(argv=None) -> str:
    import importlib

    import torch

    from checker.curriculum import load_curriculum
    from checker.models.llama_tokenizer import GGUFTokenizer
    from checker.models.smollm2 import ensure_gguf
    from checker.play import decode, speculative

    parser = argparse.ArgumentParser(description=__doc__)
    # 88: the passage given back; past its end (token 92 of 96, 2026-12-08) MAX and torch once chose
    # differently, as plain decoding does too (ours == spec there)
    parser.add_argument("--new-tokens", type=int, default=88)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    gguf = ensure_gguf(None, echo=lambda text: print(text, file=sys.stderr))
    tok = GGUFTokenizer.from_gguf(gguf)
    ids = tok.encode(tok.apply_chat_template([{"role": "user", "content": TASK + PASSAGE}],
                                             add_generation_prompt=True))
    result = {"machine": machine().splitlines()[:3], "load_before": load(), "prompt_tokens": len(ids),
              "new_tokens": args.new_tokens, "rounds": args.rounds,
              "torch_threads": torch.get_num_threads(), "lookup_tokens": speculative.LOOKUP_TOKENS}
    with scratch("bench-spec-") as (_, course):
        loader, cached, _plain = _katas(course)
        kata = load_curriculum(course).provider("speculative")
        (course / kata.file).write_bytes((course / kata.solution).read_bytes())
        spec = importlib.import_module(kata.module)
        config, state = loader.config_from_gguf(gguf), loader.load_gguf(gguf)
        hf = _hf_smollm2(gguf)
        model = decode.with_weights(cached.CachedLlamaForCausalLM, config, state)
        say = lambda text: print(text, file=sys.stderr)  # noqa: E731
        plain = decode.Cached(model, cached.KVCache, config, say=say)
        verifier = decode.Verifier(model, spec.KVCache, config, say=say)
        started = time.perf_counter()
        plain.prepare()
        verifier.prepare()
        result["ours_ready_s"] = round(time.perf_counter() - started, 1)
        draft = speculative.drafter(spec, "prompt-lookup", verifier)
        _hf(hf, ids, 2), _greedy(plain, ids, 2), speculative.generate(spec, verifier, ids, 2, None, draft)
        rounds = {"hf": [], "hf_lookup": [], "ours": [], "spec": []}
        tokens, runs, loads = {}, [], []
        for _ in range(args.rounds):
            for side, call in (("hf", lambda: _hf(hf, ids, args.new_tokens)),
                               ("hf_lookup", lambda: _hf(hf, ids, args.new_tokens, prompt_lookup_num_tokens=10)),
                               ("ours", lambda: _greedy(plain, ids, args.new_tokens)),
                               ("spec", lambda: speculative.generate(spec, verifier, ids, args.new_tokens,
                                                                     None, draft))):
                value, seconds = _timed(call)
                if side == "spec":
                    runs.append(value)
                    value = value["tokens"]
                tokens.setdefault(side, []).append(value)
                rounds[side].append(args.new_tokens / seconds)
            loads.append(load())
    rate = {side: statistics.median(r) for side, r in rounds.items()}
    run = runs[0]
    drafted, kept = run["drafted"], sum(run["accepted"])
    result.update(
        tokens_per_s={side: round(r, 2) for side, r in rate.items()},
        per_round={side: [round(x, 2) for x in r] for side, r in rounds.items()}, round_loads=loads,
        spec_over_ours=round(rate["spec"] / rate["ours"], 2), spec_over_hf=round(rate["spec"] / rate["hf"], 2),
        same_tokens=all(t == tokens["hf"][0] for side in tokens for t in tokens[side]),
        # where each side's first round first differs from hf's (None: identical)
        first_difference={side: next((i for i, (a, b) in enumerate(zip(t[0], tokens["hf"][0])) if a != b), None)
                          for side, t in tokens.items()},
        spec_equals_ours=all(t == tokens["ours"][0] for t in tokens["spec"] + tokens["ours"]),
        acceptance=round(kept / max(drafted, 1), 3), drafted=drafted, accepted=kept,
        forwards=run["calls"], tokens_per_forward=round(args.new_tokens / run["calls"], 2),
        accepted_per_round=run["accepted"], text=tok.decode(tokens["hf"][0]), load_after=load())
    if args.json:
        return json.dumps(result)
    return table(["side", "tokens/s (median)", "per round"],
                 [[side, result["tokens_per_s"][side], result["per_round"][side]] for side in rate]) + (
        f"\nspec/ours {result['spec_over_ours']}x, spec/hf {result['spec_over_hf']}x, same tokens "
        f"{result['same_tokens']}, acceptance {result['acceptance']} ({kept}/{drafted}), "
        f"{result['tokens_per_forward']} tokens per forward ({run['calls']} forwards), load "
        f"{result['load_before']} -> {result['load_after']}")


if __name__ == "__main__":
    print(main())

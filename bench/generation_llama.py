"""Table 5: SmolLM2-135M-Instruct on the CPU, the course's reference solutions (katas 13-18)
against Hugging Face transformers, in the same process, on the same GGUF file.

  forward   one forward pass of a 32-token prompt (median of 3, after one warm-up)
  greedy    32 new tokens, greedy, WITHOUT a KV cache on both sides (Part 2's model re-reads
            the sequence for every token; Part 3 adds the cache): tokens/s and the ratio
  hf+cache  transformers' generate with its KV cache, for scale
Ours runs the way `kata chat` runs it: each forward realized as one MAX graph (checker.fast).
`--json` prints one JSON object instead of the table.
"""

from __future__ import annotations

from checker import sigint

sigint.install()  # before MAX, as every process that runs learner code does

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from common import load, machine, scratch, table  # noqa: E402

os.environ.setdefault("MAX_EAGER_EXECUTOR", "interpreter")  # as the checker runs MAX
QUESTION = "Write a short story about a lighthouse keeper who finds a message in a bottle."


def _prompt(tokenizer, length: int) -> np.ndarray:
    text = tokenizer.apply_chat_template([{"role": "user", "content": QUESTION}], add_generation_prompt=True)
    ids = tokenizer.encode(text)
    while len(ids) < length:
        ids = ids + ids
    return np.array([ids[-length:]], dtype=np.int64)


def _hf(gguf):
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_grad_enabled(False)
    return AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                dtype=torch.float32).eval()


def _ours(course, gguf):
    import importlib

    from max.driver import CPU
    from max.dtype import DType
    from max.experimental.tensor import default_device, default_dtype

    from checker.fast import batched, lazily, to_tensor

    sys.path.insert(0, str(course))  # katas.* are the reference solutions
    loader = importlib.import_module("katas.step_18")
    model_class = importlib.import_module("katas.step_17").LlamaForCausalLM
    with default_device(CPU()), default_dtype(DType.float32):
        started = time.perf_counter()
        model = lazily(lambda: model_class(loader.config_from_gguf(gguf)))
        model.load_state_dict({k: to_tensor(v) for k, v in loader.load_gguf(gguf).items()})
        load_s = time.perf_counter() - started
    return (lambda ids: batched(lambda: model(to_tensor(ids))).to_numpy()), load_s


def _greedy(forward, ids: np.ndarray, new: int) -> tuple[list[int], float, float]:
    """Tokens, seconds to the first token, tokens/s over the rest."""
    tokens, started, first = [], time.perf_counter(), None
    for _ in range(new):
        token = int(np.argmax(forward(ids)[0, -1]))
        first = first or time.perf_counter() - started
        tokens.append(token)
        ids = np.concatenate([ids, [[token]]], axis=1)
    total = time.perf_counter() - started
    return tokens, first, (new - 1) / max(total - first, 1e-9)


def _median_s(call, reps: int = 3) -> float:
    call()  # warm-up
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv=None) -> str:
    import torch

    from checker.models.llama_tokenizer import GGUFTokenizer
    from checker.models.smollm2 import ensure_gguf

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    gguf = ensure_gguf(None, echo=lambda text: print(text, file=sys.stderr))
    ids = _prompt(GGUFTokenizer.from_gguf(gguf), args.prompt_tokens)
    hf = _hf(gguf)
    hf_forward = lambda x: hf(torch.from_numpy(x), use_cache=False).logits.numpy()  # noqa: E731
    with scratch("bench-llama-") as (_, course):
        ours, load_s = _ours(course, gguf)
        result = {"machine": machine().splitlines()[:3], "load_before": load(),
                  "prompt_tokens": int(ids.shape[1]), "new_tokens": args.new_tokens,
                  "ours_load_s": round(load_s, 2),
                  "hf_forward_s": _median_s(lambda: hf_forward(ids)),
                  "ours_forward_s": _median_s(lambda: ours(ids))}
        hf_tokens, hf_first, hf_tps = _greedy(hf_forward, ids, args.new_tokens)
        our_tokens, our_first, our_tps = _greedy(ours, ids, args.new_tokens)
    started = time.perf_counter()
    cached = hf.generate(torch.from_numpy(ids), max_new_tokens=args.new_tokens, do_sample=False,
                         min_new_tokens=args.new_tokens)
    cached_tps = args.new_tokens / (time.perf_counter() - started)
    result.update(hf_tokens_per_s=round(hf_tps, 2), ours_tokens_per_s=round(our_tps, 2),
                  ratio=round(our_tps / hf_tps, 2), hf_first_token_s=round(hf_first, 2),
                  ours_first_token_s=round(our_first, 2), same_tokens=hf_tokens == our_tokens,
                  hf_cached_tokens_per_s=round(cached_tps, 2),
                  hf_cached_same_tokens=cached[0, ids.shape[1]:].tolist() == hf_tokens,
                  load_after=load())
    result["hf_forward_s"] = round(result["hf_forward_s"], 3)
    result["ours_forward_s"] = round(result["ours_forward_s"], 3)
    if args.json:
        return json.dumps(result)
    rows = [["forward, 32-token prompt (s)", result["hf_forward_s"], result["ours_forward_s"], ""],
            ["greedy without cache (tokens/s)", result["hf_tokens_per_s"], result["ours_tokens_per_s"],
             f"ratio {result['ratio']}, same tokens: {result['same_tokens']}"],
            ["first token (s)", result["hf_first_token_s"], result["ours_first_token_s"], ""],
            ["greedy with HF's KV cache (tokens/s)", result["hf_cached_tokens_per_s"], "(Part 3)", ""]]
    return table(["SmolLM2-135M, CPU", "transformers", "ours (reference katas)", ""], rows) + \
        f"\n\nload average {result['load_before']} -> {result['load_after']}"


if __name__ == "__main__":
    print(main())

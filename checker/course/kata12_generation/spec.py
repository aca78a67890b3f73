"""Kata 12's fresh inputs: a prompt nobody has seen (greedy tokens must be GPT-2's argmax at every
step) and next-token logits at a temperature nobody has seen (the draws must follow them)."""

import numpy as np

from checker import diagnose
from checker.models import gpt2
from checker.models.stats import cdf_distance

GREEDY_NEW_TOKENS = 4
GREEDY_TIE = 1e-3  # a token whose logit is this close to the best is an equally right argmax
SAMPLE_DRAWS = 60  # the same DKW bound as the hidden test: a correct sampler fails < 1e-8
SAMPLE_EPS = 0.4


def draw(rng, fixtures_dir):
    fx = gpt2.Fixtures(fixtures_dir)
    context = gpt2.draw_ids(rng, fx, 1, 3)
    return {"prompt": gpt2.draw_ids(rng, fx, 1, int(rng.integers(2, 7))),
            "logits": fx.logits(context)[0, -1].astype(np.float32),
            "temperature": np.array(rng.uniform(0.7, 1.3)),
            "seed": np.array(int(rng.integers(0, 2**31)))}


def run(learner, inputs):
    from checker.child.testkit import FAILED, attempt, ids_tensor, run

    from .kit import fixed_logits_model, recording_model, token_of

    model = recording_model()  # the kata 11 model the hidden tests built, each forward batched
    if model is None:
        return None
    greedy = run("generate_tokens(model, fresh prompt, do_sample=False)",
                 lambda: learner.generate_tokens(model, ids_tensor(inputs["prompt"]),
                                                 max_new_tokens=GREEDY_NEW_TOKENS,
                                                 temperature=1.0, do_sample=False), batch=False)
    if greedy is None:
        return None
    temperature = float(inputs["temperature"])
    fixed = fixed_logits_model(inputs["logits"])
    ids = ids_tensor(inputs["prompt"])
    np.random.seed(int(inputs["seed"]))
    draws = []
    for _ in range(SAMPLE_DRAWS):
        value = attempt(f"generate_next_token(..., temperature={temperature:.2f}, do_sample=True)",
                        lambda: learner.generate_next_token(fixed, ids, temperature=temperature,
                                                            do_sample=True))
        token = None if value is FAILED else token_of(value, "generate_next_token(..., do_sample=True)")
        if token is None:
            return None
        draws.append(token)
    return {"greedy": greedy, "draws": np.array(draws, dtype=np.int64)}


def judge(inputs, outputs, fixtures_dir):
    fx = gpt2.Fixtures(fixtures_dir)
    prompt, tokens, draws = inputs["prompt"], outputs.get("greedy"), outputs.get("draws")
    if tokens is None or draws is None:
        return "the generated tokens did not come back"
    want_shape = (1, prompt.shape[1] + GREEDY_NEW_TOKENS)
    if tokens.shape != want_shape or tokens.dtype.kind not in "iu":
        return f"greedy generation gave {tokens.dtype} of shape {tokens.shape}; expected int64 {want_shape}"
    if not np.array_equal(tokens[:, :prompt.shape[1]], prompt):
        return "greedy generation did not keep the prompt at the start"
    for step in range(prompt.shape[1], tokens.shape[1]):
        logits = fx.logits(tokens[:, :step])[0, -1]
        chosen = int(tokens[0, step])
        if 0 <= chosen < len(logits):  # how near a tie the chosen token's logit is: 1 fails
            diagnose.record_margin((logits.max() - logits[chosen]) / GREEDY_TIE, diagnose.TIE)
        if not 0 <= chosen < len(logits) or logits[chosen] < logits.max() - GREEDY_TIE:
            return (f"greedy token {step - prompt.shape[1] + 1} is {chosen}; GPT-2's most likely "
                    f"next token is {int(np.argmax(logits))}")
    if draws.shape != (SAMPLE_DRAWS,) or draws.dtype.kind not in "iu" or draws.min() < 0 \
            or draws.max() >= len(inputs["logits"]):
        return "the sampled tokens are not vocabulary ids"
    scaled = inputs["logits"].astype(np.float64) / float(inputs["temperature"])
    probs = np.exp(scaled - scaled.max())
    distance = cdf_distance(draws, probs / probs.sum())
    diagnose.record_margin(distance / SAMPLE_EPS, diagnose.STATISTICAL)
    if distance > SAMPLE_EPS:
        return (f"at temperature {float(inputs['temperature']):.2f}, {SAMPLE_DRAWS} samples do not "
                f"follow GPT-2's probabilities (distance {distance:.2f}, allowed {SAMPLE_EPS})")
    return None

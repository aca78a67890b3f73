"""Part 3's numpy references equal Hugging Face's own code, and each named mistake is far off.

checker/models/sampling.py against transformers' TemperatureLogitsWarper, RepetitionPenalty-
LogitsProcessor, TopKLogitsWarper, TopPLogitsWarper, MinPLogitsWarper and the processor list
`generate` builds, on real logits (the seeded tiny GPT-2, with ties: a tie on the top-k boundary,
a tie at the top, bfloat16-rounded rows); checker/models/moe.py against transformers'
MixtralSparseMoeBlock. Each named mistake of katas 20 and 21 must differ from the right answer by
far more than the checker's tolerance; the margins are printed (pytest -s).
"""

import importlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from checker.models import moe  # noqa: E402
from checker.models import sampling as ref  # noqa: E402

G20 = importlib.import_module("checker.course.kata20_sampling.golden")
G21 = importlib.import_module("checker.course.kata21_mixture_of_experts.golden")
T20 = importlib.import_module("checker.course.kata20_sampling.kit")

TOL = 1e-5  # float32 Hugging Face against float64 numpy, on logits of size ~10


@pytest.fixture(scope="module")
def rows():
    from checker.models import part3_golden

    model, tok = part3_golden.load(None)
    return G20.real_logits(model, tok)


def same_filtering(mine: np.ndarray, theirs: np.ndarray) -> None:
    theirs = np.asarray(theirs, dtype=np.float64)
    assert np.array_equal(np.isneginf(mine), np.isneginf(theirs)), (
        f"{int((np.isneginf(mine) != np.isneginf(theirs)).sum())} tokens filtered differently")
    finite = np.isfinite(theirs)
    np.testing.assert_allclose(mine[finite], theirs[finite], rtol=TOL, atol=TOL)


def hf(processor, logits, ids):
    return processor(torch.from_numpy(ids), torch.from_numpy(logits.copy())).numpy()


def test_the_rows_have_the_ties_they_promise(rows):
    logits, ids = rows
    ordered = -np.sort(-logits, axis=-1)
    assert (ordered[G20.TOP_K_TIE_ROW, 48:52] == ordered[G20.TOP_K_TIE_ROW, 49]).all()
    assert ordered[G20.TOP_TIE_ROW, 0] == ordered[G20.TOP_TIE_ROW, 1]
    for row in (2, 3):  # bfloat16 rows: many tokens share a value
        assert len(np.unique(logits[row])) < logits.shape[1] / 10
    seen = np.take_along_axis(logits, ids, axis=-1)
    assert (seen > 0).any() and (seen < 0).any()  # the penalty's two cases both occur
    assert any(len(set(r)) < len(r) for r in ids.tolist())  # and repeated ids


@pytest.mark.parametrize("t", [0.25, 0.7, 1.3])
def test_temperature_equals_hf(rows, t):
    from transformers import TemperatureLogitsWarper

    logits, ids = rows
    same_filtering(ref.apply_temperature(logits, t), hf(TemperatureLogitsWarper(t), logits, ids))


@pytest.mark.parametrize("penalty", [1.3, 0.7, 2.0])
def test_repetition_penalty_equals_hf(rows, penalty):
    from transformers import RepetitionPenaltyLogitsProcessor

    logits, ids = rows
    same_filtering(ref.apply_repetition_penalty(logits, ids, penalty),
                   hf(RepetitionPenaltyLogitsProcessor(penalty), logits, ids))


@pytest.mark.parametrize("k,keep", [(1, 1), (2, 5), (49, 1), (50, 1), (51, 1), (52, 1), (53, 1),
                                    (1000, 1), (50257, 1)])
def test_top_k_equals_hf_ties_included(rows, k, keep):
    from transformers import TopKLogitsWarper

    logits, ids = rows
    mine = ref.top_k_filter(logits, k, keep)
    same_filtering(mine, hf(TopKLogitsWarper(k, min_tokens_to_keep=keep), logits, ids))
    if k in (49, 50, 51, 52):  # the tie on ranks 49-52 keeps all four
        assert np.isfinite(mine[G20.TOP_K_TIE_ROW]).sum() == 52
    if k == 1:
        assert np.isfinite(mine[G20.TOP_TIE_ROW]).sum() == 2


P_GRID = [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]


@pytest.mark.parametrize("keep", [1, 3])
@pytest.mark.parametrize("p", P_GRID)
def test_top_p_equals_hf(rows, p, keep):
    """Exactly equal where no tie straddles the boundary; where one does, Hugging Face keeps part
    of the tie group (which part is torch.sort's order): the same number of tokens, and the
    tokens that differ all share the boundary's score."""
    from transformers import TopPLogitsWarper

    logits, ids = rows
    mine = ref.top_p_filter(logits, p, keep)
    theirs = hf(TopPLogitsWarper(p, min_tokens_to_keep=keep), logits, ids)
    for r in range(len(logits)):
        assert np.isfinite(mine[r]).sum() == np.isfinite(theirs[r]).sum(), r
        differ = np.isfinite(mine[r]) != np.isfinite(theirs[r])
        if differ.any():
            assert len(np.unique(logits[r][differ])) == 1
            assert ref.top_p_margin(logits[r:r + 1], p) == 0
        elif ref.top_p_margin(logits[r:r + 1], p) > T20.P_MARGIN:
            same_filtering(mine[r], theirs[r])


def test_top_p_ties_on_the_boundary_are_tested(rows):
    """The grid above does meet ties straddling the boundary (the bfloat16 rows)."""
    logits, _ = rows
    straddled = [p for p in P_GRID for r in (2, 3) if ref.top_p_margin(logits[r:r + 1], p) == 0]
    assert straddled


@pytest.mark.parametrize("keep", [1, 3])
@pytest.mark.parametrize("m", [0.0, 0.01, 0.05, 0.1, 0.2, 0.5, 0.9, 1.0])
def test_min_p_equals_hf(rows, m, keep):
    from transformers import MinPLogitsWarper

    logits, ids = rows
    same_filtering(ref.min_p_filter(logits, m, keep),
                   hf(MinPLogitsWarper(m, min_tokens_to_keep=keep), logits, ids))


@pytest.mark.parametrize("settings", G20.COMBINED + G20.SAMPLED[1:] + (
    {"temperature": 0.5, "top_k": 10, "top_p": 0.5, "min_p": 0.05, "repetition_penalty": 1.5},),
    ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "plain")
def test_next_token_probs_equal_generate(rows, settings):
    """The distribution generate(do_sample=True) samples from, with its own processor list."""
    logits, ids = rows
    settings = G20.settle(settings, logits, ids)
    theirs = G20.hf_probs(logits, ids, settings)
    mine = ref.next_token_probs(logits, ids, **settings)
    assert np.array_equal(mine > 0, theirs > 0)
    np.testing.assert_allclose(mine, theirs, atol=1e-7, rtol=1e-4)


# ---- kata 20's named mistakes, far from the right answer -----------------------------------------



@pytest.fixture(scope="module")
def golden20(rows):
    return G20.golden_arrays(*rows)


def test_golden_cases_are_what_the_reference_computes(golden20):
    """The golden file's every case, from Hugging Face, equals the reference (what the parent's
    fresh-input judgement uses)."""
    g = golden20
    logits, ids = g["logits"], g["input_ids"]
    run = {"temperature": lambda s: ref.apply_temperature(logits, s["temperature"]),
           "penalty": lambda s: ref.apply_repetition_penalty(logits, ids, s["penalty"]),
           "top_k": lambda s: ref.top_k_filter(logits, s["top_k"], s["min_tokens_to_keep"]),
           "top_p": lambda s: ref.top_p_filter(logits, s["top_p"], s["min_tokens_to_keep"]),
           "min_p": lambda s: ref.min_p_filter(logits, s["min_p"], s["min_tokens_to_keep"])}
    for kind, compute in run.items():
        for _, settings, out in T20.cases(g, kind):
            same_filtering(compute(settings), out)
    for kind, (x, i) in {"combined": (logits, ids),
                         "sampled": (g["sample.logits"], g["sample.input_ids"])}.items():
        for _, settings, out in T20.cases(g, kind):
            np.testing.assert_allclose(ref.next_token_probs(x, i, **settings), out,
                                       atol=1e-7, rtol=1e-4)


def test_sampling_mistakes_are_far(golden20, capsys):
    """Each mistake's output differs from Hugging Face's by far more than kata 20's tolerance on
    the hidden tests' own cases."""
    lines = []
    for name, (ratio, measure) in T20.mistake_margins(golden20).items():
        lines.append(f"{name}: {measure} ({ratio:.3g}x the tolerance)")
        assert ratio > 100, lines[-1]
    with capsys.disabled():
        print("\nkata 20 mistakes:\n  " + "\n  ".join(lines))


def test_sampled_mistakes_are_far_in_distribution(rows, capsys):
    """The statistical check names a mistake only when its KS distance from the right
    distribution exceeds 2 * EPS + the gap kit.NAME_GAP: printed for each sampled case."""
    logits, ids = rows
    s_logits, s_ids = G20.sample_slice(logits, ids)
    lines = []
    for i, settings in enumerate(G20.SAMPLED):
        settings = G20.settle(settings, s_logits, s_ids)
        right = ref.next_token_probs(s_logits, s_ids, **settings)[0]
        for advice, wrong in T20.sampling_mistakes(s_logits, s_ids, settings).items():
            d = T20.ks(right, wrong, right)
            lines.append(f"case {i} {settings}: {advice[:50]}...: KS {d:.3f}")
    with capsys.disabled():
        print("\nkata 20 sampled-case KS distances:\n  " + "\n  ".join(lines))


# ---- kata 21: Mixtral's MoE block ----------------------------------------------------------------

@pytest.fixture(scope="module")
def block():
    return G21.tiny_block()


def _hf_moe(block, x):
    with torch.no_grad():
        return block(torch.from_numpy(x)).numpy()


def test_moe_names_are_hugging_faces(block):
    assert set(block.state_dict()) == set(moe.NAMES)


def test_moe_equals_hf(block):
    x = G21.hidden_states(block)
    weights = moe.as_float64({k: v.numpy() for k, v in block.state_dict().items()})
    mine = moe.moe(x, weights, top_k=block.top_k)
    np.testing.assert_allclose(mine, _hf_moe(block, x), atol=1e-4, rtol=1e-5)
    with torch.no_grad():
        _, scores, indices = block.gate(torch.from_numpy(x).reshape(-1, x.shape[-1]))
    gates, chosen = moe.route(moe.router_logits(x.reshape(-1, x.shape[-1]).astype(np.float64),
                                                weights), block.top_k)
    assert np.array_equal(chosen, indices.numpy())
    np.testing.assert_allclose(gates, scores.numpy(), atol=1e-6)


@pytest.mark.parametrize("experts,top_k", [(4, 1), (4, 3), (6, 2), (8, 3)])
def test_moe_equals_hf_other_configs(experts, top_k):
    """Fresh inputs vary the number of experts and experts per token: the reference follows."""
    from transformers import MixtralConfig
    from transformers.models.mixtral.modeling_mixtral import MixtralSparseMoeBlock

    config = MixtralConfig(**{**G21.CONFIG, "num_local_experts": experts,
                              "num_experts_per_tok": top_k}, router_jitter_noise=0.0)
    block = MixtralSparseMoeBlock(config).eval()
    rng = np.random.default_rng(experts * 10 + top_k)
    weights = moe.random_weights(rng, config.hidden_size, config.intermediate_size, experts,
                                 G21.ROUTER_STD, G21.EXPERT_STD)
    block.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    x = rng.standard_normal((3, 5, config.hidden_size)).astype(np.float32)
    assert moe.second_choice_margin(x, moe.as_float64(weights), top_k) > 1e-4
    np.testing.assert_allclose(moe.moe(x, moe.as_float64(weights), top_k=top_k),
                               _hf_moe(block, x), atol=1e-4, rtol=1e-5)


def test_moe_mistakes_are_far(block, capsys):
    x = G21.hidden_states(block)
    weights = moe.as_float64({k: v.numpy() for k, v in block.state_dict().items()})
    right = moe.moe(x, weights)
    T21 = importlib.import_module("checker.course.kata21_mixture_of_experts.kit")
    lines = []
    for advice, wrong in T21.mistakes(x, weights, block.top_k).items():
        gap = float(np.abs(wrong - right).max())
        lines.append(f"{advice.split('.')[0]}: max |diff| {gap:.3g} ({gap / T21.ATOL:.0f}x atol)")
        assert gap > 100 * T21.ATOL, lines[-1]
    with capsys.disabled():
        print("\nkata 21 mistakes:\n  " + "\n  ".join(lines))

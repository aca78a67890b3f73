"""GPT-2's weights from fixtures/weights.npz, named and laid out the way the learner's modules
want them: what loading a real checkpoint into a MAX model does. (The GPT-2 family's own.)"""

from __future__ import annotations

from pathlib import Path


from checker import fixture_files
from checker.child.staging import to_tensor

# Hugging Face stores these as Conv1D, [in, out]; MAX's Linear (like torch's) wants [out, in].
CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def gpt2_state(fixtures_dir: Path, prefix: str, keep: tuple[str, ...] = ("",)) -> dict:
    """The weights under `prefix` (e.g. "transformer.h.0.mlp."), the prefix removed, Conv1D
    weights transposed, lm_head tied to wte, as MAX tensors."""
    return state_from(fixture_files.load(fixtures_dir, "weights.npz"), prefix, keep)


def state_from(weights: dict, prefix: str = "", keep: tuple[str, ...] = ("",)) -> dict:
    """gpt2_state for arrays named as in a Hugging Face GPT-2 state dict (e.g. a checkpoint's)."""
    names = dict(weights)
    names["lm_head.weight"] = weights["transformer.wte.weight"]  # GPT-2 ties the two
    state = {}
    for name, array in names.items():
        if not name.startswith(prefix) or not name[len(prefix):].startswith(keep):
            continue
        if name.endswith(CONV1D):
            array = array.T
        state[name[len(prefix):]] = to_tensor(array)
    return state


def learner_config(fixtures_dir: Path):
    """The course's tiny GPT-2 (or the checkpoint's configuration), built with the learner's own
    GPT2Config from kata 1."""
    import importlib

    values = fixture_files.load(fixtures_dir, "golden/step_01.json")["tiny"]
    return importlib.import_module("katas.step_01").GPT2Config(**values)

"""`kata dev fixtures --model PATH` builds the same fixtures from a checkpoint in the Hugging Face
layout, and `kata check --fixtures DIR` checks against them. Proven on the tiny model saved
with save_pretrained; the real `gpt2` runs only where its weights already are on disk."""

import os
from pathlib import Path

import numpy as np
import pytest

from checker.curriculum import load_curriculum
from checker.check.runner import run_kata

pytest.importorskip("transformers", reason="building fixtures needs the maintainer extra")
pytest.importorskip("torch", reason="building fixtures needs the maintainer extra")

ROOT = Path(__file__).resolve().parents[1]


def _arrays(path: Path) -> dict:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def saved_tiny(tmp_path_factory):
    from checker.dev import build_fixtures
    from checker.models import gpt2_golden

    folder = tmp_path_factory.mktemp("tiny-hf")
    gpt2_golden.tiny_model().save_pretrained(folder)
    out = tmp_path_factory.mktemp("fx")
    build_fixtures.build(out, model_path=str(folder), echo=lambda _: None)
    return out


def test_checkpoint_fixtures_equal_the_committed_ones(saved_tiny):
    for name in ("golden/step_07.npz", "golden/step_11.npz", "golden/step_12.npz", "weights.npz"):
        built, committed = _arrays(saved_tiny / name), _arrays(ROOT / "fixtures" / name)
        assert built.keys() == committed.keys(), name
        for key in committed:
            if committed[key].dtype.kind in "fc":
                np.testing.assert_allclose(built[key], committed[key], atol=1e-5, rtol=1e-5, err_msg=f"{name}:{key}")
            else:
                assert np.array_equal(built[key], committed[key]), f"{name}:{key}"


def test_check_against_checkpoint_fixtures(saved_tiny, monkeypatch, solutions):
    monkeypatch.setenv("KATA_FIXTURES", str(saved_tiny))
    curriculum = load_curriculum(ROOT)
    kata = curriculum.get(11)
    result = run_kata(curriculum, kata, learner_file=ROOT / kata.solution,
                      deps_dir=solutions)
    assert result.status == "pass", result.tests


def _real_gpt2() -> str | None:
    explicit = os.environ.get("GPT2_CHECKPOINT")
    if explicit and Path(explicit).is_dir():
        return explicit
    hub = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub" / "models--gpt2"
    return "gpt2" if hub.is_dir() else None


@pytest.mark.skipif(_real_gpt2() is None, reason="no real GPT-2 weights on this machine: set "
                    "GPT2_CHECKPOINT to a folder in the Hugging Face layout, or have `gpt2` in the "
                    "Hugging Face cache (nothing is downloaded)")
def test_real_gpt2(tmp_path, monkeypatch, solutions):
    from checker.dev import build_fixtures

    build_fixtures.build(tmp_path, model_path=_real_gpt2(), echo=lambda _: None)
    monkeypatch.setenv("KATA_FIXTURES", str(tmp_path))
    curriculum = load_curriculum(ROOT)
    kata = curriculum.get(11)
    result = run_kata(curriculum, kata, learner_file=ROOT / kata.solution,
                      deps_dir=solutions, time_limit_s=900)
    assert result.status == "pass", result.tests

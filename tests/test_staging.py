"""checker/child/staging.py's batched() with `sources`: a model's weights made the staged graph's
inputs before it grows (kata 18's forwards, 1 s of CPU each less) give the same numbers as
without, and a source the call never reads is dropped, not an error. In a child process, with the
SIGINT fix first, as the checker runs MAX."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO

CODE = """
from checker.child import sigint
sigint.install()
import numpy as np
from max.driver import CPU
from max.dtype import DType
from max.experimental.nn import Linear, Sequential
from max.experimental.tensor import default_device, default_dtype
from checker.child.staging import batched, lazily, to_tensor, weights_of

rng = np.random.default_rng(0)
with default_device(CPU()), default_dtype(DType.float32):
    model = lazily(lambda: Sequential(Linear(8, 16), Linear(16, 4)))
    model.load_state_dict({name: to_tensor(rng.normal(size=tuple(int(d) for d in t.shape)).astype(np.float32))
                           for name, t in model.parameters})
    x = to_tensor(rng.normal(size=(3, 8)).astype(np.float32))
    plain = batched(lambda: model(x)).to_numpy()
    weights = weights_of(model)
    unused = to_tensor(np.ones((5, 5), dtype=np.float32))
    staged = batched(lambda: model(x), sources=weights + (unused,)).to_numpy()
    print(len(weights), np.array_equal(plain, staged), weights_of(object()))
"""


def test_sources_give_the_same_numbers():
    env = dict(os.environ, PYTHONPATH=str(REPO), MAX_EAGER_EXECUTOR="interpreter")  # MAX's cache: HOME's
    done = subprocess.run([sys.executable, "-c", CODE], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["4", "True", "()"], done.stdout + done.stderr

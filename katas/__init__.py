"""Your katas: one file per step. Later katas import earlier ones, e.g. `from katas.step_03 import LayerNorm`."""

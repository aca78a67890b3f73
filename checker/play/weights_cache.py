"""What the learner's config_from_gguf and load_gguf returned, kept on disk, so that the next
`kata chat` starts in seconds instead of parsing and dequantizing the whole model file again.

Kept under $KATA_WEIGHTS_CACHE (default ~/.cache/kata/weights), one folder per entry: a
manifest.json and one .npy file per array, which a later start maps into memory (np.load with
mmap_mode="c": copy-on-write, so the arrays are writeable, as DLPack needs to hand them to MAX,
and nothing is ever written back into the cache). An entry is used only when everything its
result could depend on is unchanged (`Key`):
- the sha256 of every learner file the loader had imported once the call returned (the modules
  in sys.modules whose file lies in the course's katas/ folder): an edit to any of them, or to
  one they import, means a new entry. The same files import the same files, so the set recorded
  by the call that filled the entry is the set to compare;
- the model file's sha256, in full at every start (98 MB: 0.1 s here; a key of (path, size,
  mtime) would save that and could be fooled by a copy over the file that keeps its size and
  time);
- the versions of numpy, gguf, MAX and Python, and the processor.
"Altered" is found by shape, dtype and size, not by content: hashing 540 MB at every start would
cost what keeping the result saves; the entries are written only here, by rename.
The compiled graph is kept beside them (GraphCache, below).
An entry is written into a temporary folder and renamed into place in one step: a chat killed
while writing leaves a temporary folder (removed by a later start) and never a half-written
entry. An entry that is damaged anyway (a file missing, truncated or altered) is found when it
is opened, removed and rebuilt, with one line saying so. Only the newest KEEP entries are kept
(each is the size of the float32 model: 540 MB for SmolLM2). The configuration is kept when it is
a dataclass of plain values (the learner's class is built again from them, and must give back
every field); else config_from_gguf runs each time (seconds: gguf's reader parses the header).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from checker.fixture_files import sha256_of  # the model file and learner files, streamed
from checker.paths import user_cache_dir
from checker.protocol import Env

FORMAT = 1
MANIFEST = "manifest.json"
KEEP = 2  # entries kept (the newest): a learner switching between two versions of their loader
STALE_S = 3600.0  # a temporary folder this old belongs to a chat that was killed while writing

Say = Callable[[str], None]


def cache_dir() -> Path:
    """$KATA_WEIGHTS_CACHE, else ~/.cache/kata/weights: per user, shared by all their courses."""
    env = os.environ.get(Env.WEIGHTS_CACHE)
    return Path(env).expanduser() if env else user_cache_dir() / "weights"


def versions() -> dict[str, str]:
    """The libraries a loader's result could depend on (gguf dequantizes, numpy holds it)."""
    import numpy

    found = {"numpy": numpy.__version__, "python": sys.version.split()[0], "cpu": _cpu()}
    from importlib import metadata

    for name in ("gguf", "max"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "none"
    return found


def _cpu() -> str:
    """The processor, as far as compiled kernels care (a home folder shared by machines)."""
    import platform

    text = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            lines = [line for line in info.read(1 << 16).splitlines()
                     if line.startswith(("model name", "flags", "Features"))]
        text += "\n" + "\n".join(dict.fromkeys(lines))
    except OSError:
        pass
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def learner_files(folder: Path) -> dict[str, str]:
    """{path relative to folder's parent: sha256} of every module in sys.modules whose file lies
    in folder (the course's katas/)."""
    folder = folder.resolve()
    found = {}
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if not name:
            continue
        path = Path(name).resolve()
        if path.parent == folder or folder in path.parents:
            try:
                found[str(path.relative_to(folder.parent))] = sha256_of(path)
            except OSError:
                continue
    return dict(sorted(found.items()))


class Key:
    """What an entry's arrays depend on besides the learner's files: the model file and the
    libraries' versions."""

    def __init__(self, model_sha256: str, libraries: dict[str, str] | None = None):
        self.model_sha256 = model_sha256
        self.libraries = libraries if libraries is not None else versions()

    def also(self, **more: str) -> "Key":
        """This key, with more that the result depends on."""
        return Key(self.model_sha256, {**self.libraries, **more})

    def matches(self, manifest: dict) -> bool:
        return (manifest.get("format") == FORMAT and manifest.get("model_sha256") == self.model_sha256
                and manifest.get("libraries") == self.libraries)

    def name(self, files: dict[str, str]) -> str:
        text = json.dumps([FORMAT, self.model_sha256, self.libraries, files], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


class Damaged(Exception):
    """An entry that cannot be read back as it was written."""


class _Entries:
    """Entries of one kind (folders named PREFIX + a hash) in the cache folder: found by their
    manifest, written into a temporary folder and renamed into place, the newest `keep` kept."""

    PREFIX = ""
    KEEP = KEEP

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder is not None else cache_dir()

    def entries(self) -> list[Path]:
        try:
            return sorted(p for p in self.folder.iterdir() if p.is_dir() and p.name.startswith(self.PREFIX))
        except OSError:
            return []

    def _find(self, key: Key, katas: Path, wanted=lambda manifest: True) -> tuple[Path | None, list[Path]]:
        """(the entry for this model and these libraries that `wanted` accepts, whose learner
        files all still have the recorded contents, or None; the entries whose manifest cannot be
        read: damaged)."""
        root = katas.resolve().parent
        found, damaged = None, []
        for entry in self.entries():
            manifest = _manifest(entry)
            if manifest is None:
                damaged.append(entry)
                continue
            files = manifest.get("files")
            if found is None and key.matches(manifest) and wanted(manifest) and isinstance(files, dict) \
                    and files and all(_same(root / name, digest) for name, digest in files.items()):
                found = entry
        return found, damaged

    def remove(self, entry: Path) -> None:
        shutil.rmtree(entry, ignore_errors=True)

    def _write(self, name: str, fill: Callable[[Path], dict]) -> Path:
        """fill(folder) writes an entry's files into a temporary folder and returns its manifest;
        then one rename puts it in place. OSError when the disk refuses (full, read-only)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._sweep()
        final = self.folder / (self.PREFIX + name)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.folder))
        try:
            manifest = fill(tmp)
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            try:
                tmp.rename(final)
            except OSError:  # another chat kept the same entry first
                if _manifest(final) is None:
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._prune(keep=final)
        return final

    def _sweep(self) -> None:
        """Removes temporary folders left by chats killed while writing."""
        try:
            for path in self.folder.glob(".tmp-*"):
                if time.time() - path.stat().st_mtime > STALE_S:
                    shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass

    def _prune(self, keep: Path) -> None:
        others = [e for e in self.entries() if e != keep]
        others.sort(key=lambda e: e.stat().st_mtime if e.exists() else 0, reverse=True)
        for entry in others[self.KEEP - 1:]:
            self.remove(entry)


class WeightsCache(_Entries):
    """The learner's config_from_gguf and load_gguf results."""

    PREFIX = "weights-"

    def find(self, key: Key, katas: Path) -> tuple[Path | None, list[Path]]:
        return self._find(key, katas)

    def open(self, entry: Path) -> tuple[dict | None, dict]:
        """(the configuration's description, the arrays mapped from their files (copy-on-write))
        of an entry; raises Damaged."""
        manifest = _manifest(entry)
        if manifest is None or not isinstance(manifest.get("arrays"), list):
            raise Damaged(f"{MANIFEST} unreadable")
        state = _mapped(entry, manifest["arrays"], {})
        config = manifest.get("config")
        return (config if isinstance(config, dict) else None), state

    @staticmethod
    def storable(state) -> bool:
        """Only a dict of plain numpy arrays by name is kept (anything else runs uncached)."""
        import numpy as np

        return isinstance(state, dict) and bool(state) and all(  # np.memmap is an ndarray too
            isinstance(k, str) and isinstance(v, np.ndarray) and v.dtype.kind in "biufc"
            for k, v in state.items())

    def store(self, key: Key, files: dict[str, str], state: dict, config: dict | None = None) -> Path:
        """Writes an entry; returns its folder. OSError when the disk refuses (full, read-only)."""

        def fill(tmp: Path) -> dict:
            arrays, seen = [], {}
            for index, (name, array) in enumerate(state.items()):
                if id(array) in seen:  # a tied weight: the same array under two names
                    arrays.append({"name": name, "same_as": seen[id(array)]})
                    continue
                seen[id(array)] = name
                arrays.append(_saved(tmp, f"{index:04d}.npy", name, array))
            return {"format": FORMAT, "model_sha256": key.model_sha256, "libraries": key.libraries,
                    "files": files, "arrays": arrays, "config": config, "written": time.time()}

        return self._write(key.name(files), fill)


class GraphCache(_Entries):
    """The learner's model (and KV cache) compiled by MAX into one graph (checker.play.decode),
    as a .mef file, and which array each of its weights is: a later chat loads it and binds the
    kept arrays instead of building the learner's modules, tracing them and asking MAX's own
    cache for the compiled graph (seconds). Its key adds the learner files imported by then (the
    model's katas), the kind of graph and the checker's code that wraps the learner's model."""

    PREFIX = "graph-"
    KEEP = 6  # with the KV cache, and without it at a few lengths

    def find(self, key: Key, katas: Path, kind: str) -> tuple[Path | None, list[Path]]:
        return self._find(key, katas, lambda manifest: manifest.get("kind") == kind)

    def open(self, entry: Path, state: dict):
        """(the compiled graph as MAX loads it, its weights) for an entry; raises Damaged."""
        manifest = _manifest(entry)
        if manifest is None or not isinstance(manifest.get("weights"), dict):
            raise Damaged(f"{MANIFEST} unreadable")
        extras = _mapped(entry, manifest.get("extras") or [], {})
        try:
            from max import engine
            from max.experimental import compilation

            weights = {name: extras[source["extra"]] if "extra" in source else state[source["state"]]
                       for name, source in manifest["weights"].items()}
            artifact = engine.read(str(entry / "graph.mef"))
            # the session eager MAX and Module.compile use (MAX 26.7 keeps it private)
            model = compilation._session().init(artifact, weights_registry=weights)
        except Exception as exc:  # noqa: BLE001 - MAX's own errors, a missing array: rebuilt
            raise Damaged(f"{type(exc).__name__}: {exc}") from None
        return Loaded(model, weights)

    def store(self, key: Key, files: dict[str, str], kind: str, step, state: dict) -> Path:
        """Writes the compiled `step` (a MAX CompiledCallable whose weights came from `state`,
        under the names the learner's modules give them, after a "model." prefix)."""
        import numpy as np

        def fill(tmp: Path) -> dict:
            step.export_mef(tmp / "graph.mef")
            weights, extras = {}, []
            for index, (name, tensor) in enumerate(step.weights.items()):
                array = np.asarray(tensor.to_numpy() if hasattr(tensor, "to_numpy") else np.from_dlpack(tensor))
                source = name.removeprefix("model.")
                kept = state.get(source)
                if isinstance(kept, np.ndarray) and kept.shape == array.shape and kept.dtype == array.dtype \
                        and np.array_equal(kept, array):
                    weights[name] = {"state": source}
                else:  # a tensor the learner's module made itself (or changed): kept as it is
                    extras.append(_saved(tmp, f"extra-{index:04d}.npy", name, array))
                    weights[name] = {"extra": name}
            return {"format": FORMAT, "model_sha256": key.model_sha256, "libraries": key.libraries,
                    "files": files, "kind": kind, "weights": weights, "extras": extras,
                    "written": time.time()}

        return self._write(key.name({**files, "kind": kind}), fill)


class Loaded:
    """A compiled graph loaded from a .mef, run as decode's steps run a MAX CompiledCallable."""

    def __init__(self, model, weights: dict):
        self.model, self.weights = model, weights  # the arrays stay alive as long as the graph

    def execute_raw(self, *buffers):
        return list(self.model(*buffers))


def _saved(folder: Path, file: str, name: str, array) -> dict:
    import numpy as np

    np.save(folder / file, np.ascontiguousarray(array), allow_pickle=False)
    return {"name": name, "file": file, "shape": list(array.shape), "dtype": str(array.dtype)}


def _mapped(entry: Path, items: list, state: dict) -> dict:
    """The arrays an entry's manifest lists, mapped from their files; raises Damaged."""
    import numpy as np

    try:
        for item in items:
            name, alias = item["name"], item.get("same_as")
            if alias is not None:
                state[name] = state[alias]
                continue
            array = np.load(entry / item["file"], mmap_mode="c", allow_pickle=False)
            if list(array.shape) != item["shape"] or str(array.dtype) != item["dtype"]:
                raise Damaged(f"{item['file']} is not the array that was written")
            state[name] = array
    except Damaged:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
        raise Damaged(f"{type(exc).__name__}: {exc}") from None
    return state


def _manifest(entry: Path) -> dict | None:
    try:
        data = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _same(path: Path, digest: str) -> bool:
    try:
        return sha256_of(path) == digest
    except OSError:
        return False


# --- the learner's config_from_gguf and load_gguf, through the cache ------------------------

def read_model(loader, gguf: Path, katas: Path, say: Say, live: Say | None = None,
               cache: WeightsCache | None = None) -> tuple[object, dict, Key | None]:
    """(loader.config_from_gguf(gguf), loader.load_gguf(gguf), the key of what they depend on
    besides the learner's files: None when the model file cannot be read), or what earlier calls
    returned when nothing they depend on has changed. say(line): what happened (one line each);
    live(text): the progress line while the learner's load_gguf runs, rewritten in place (None:
    only its start and end are said)."""
    cache = cache or WeightsCache()
    gguf = Path(gguf)
    try:
        key = Key(sha256_of(gguf))
        entry, damaged = cache.find(key, katas)
    except OSError:
        key, entry, damaged = None, None, []
    for bad in damaged:
        cache.remove(bad)
        say(f"(a damaged copy of a load_gguf result in {cache.folder} was removed)")
    if entry is not None:
        started = time.monotonic()
        try:
            described, state = cache.open(entry)
        except Damaged as exc:
            cache.remove(entry)
            say(f"The kept copy of your load_gguf's result was damaged ({_first_line(exc)}): "
                "removed it; reading the file again.")
        else:
            config = rebuilt_config(described)
            if config is None:
                config = loader.config_from_gguf(str(gguf))
            _touch(entry)  # the newest entries are the ones kept
            say(f"(your load_gguf's result for {gguf.name}, kept from an earlier chat: "
                f"{time.monotonic() - started:.1f} s)")
            return config, state, key
    started = time.time()
    config = loader.config_from_gguf(str(gguf))
    state = _with_progress(lambda: loader.load_gguf(str(gguf)), f"Reading {gguf.name} with your "
                           "load_gguf (the next chat reuses the result)", say, live)
    if key is None:
        return config, state, key
    if not cache.storable(state):
        say("(your load_gguf's result is not a dict of numpy arrays by name: not kept, so each "
            "chat reads the file again)")
        return config, state, key
    files = learner_files(katas)
    if not files or changed_since(files, katas, started):
        return config, state, key  # edited while it ran: what was imported may not be what is there now
    try:
        cache.store(key, files, state, described_config(config))
    except OSError as exc:
        say(f"(could not keep your load_gguf's result in {cache.folder}: "
            f"{exc.strerror or exc}; the next chat reads the file again)")
    return config, state, key


_PLAIN = (int, float, bool, str, type(None))


def described_config(config) -> dict | None:
    """{"class": [module, qualname], "fields": every field's value} for a dataclass instance of
    plain values (else None: not kept)."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        return None
    cls = type(config)
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    if not all(type(v) in _PLAIN for v in fields.values()) or "<locals>" in cls.__qualname__:
        return None
    return {"class": [cls.__module__, cls.__qualname__], "fields": fields,
            "init": [f.name for f in dataclasses.fields(config) if f.init]}


def rebuilt_config(described: dict | None):
    """The learner's configuration class built again from described_config's description (None
    when it cannot be, or gives back other values)."""
    try:
        module, qualname = described["class"]
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        fields = described["fields"]
        config = cls(**{name: fields[name] for name in described["init"]})
        again = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    except Exception:  # noqa: BLE001 - anything unexpected: the learner's function runs instead
        return None
    same = again.keys() == fields.keys() and all(
        type(again[k]) is type(fields[k]) and again[k] == fields[k] for k in fields)
    return config if same else None


def _with_progress(call, what: str, say: Say, live: Say | None):
    started = time.monotonic()
    if live is None:
        say(what + " ...")
        result = call()
        say(f"({time.monotonic() - started:.0f} s)")
        return result
    stop = threading.Event()

    def tick():
        while not stop.wait(1.0):
            live(f"{what} ... {time.monotonic() - started:.0f} s")

    live(f"{what} ...")
    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        result = call()
    finally:
        stop.set()
        thread.join()
    live(f"{what} ... {time.monotonic() - started:.0f} s\n")
    return result


def _touch(entry: Path) -> None:
    try:
        os.utime(entry)
    except OSError:
        pass


def changed_since(files: dict[str, str], katas: Path, started: float) -> bool:
    """Whether any of learner_files' files was written after `started` (time.time())."""
    root = katas.resolve().parent
    for name in files:
        try:
            if (root / name).stat().st_mtime > started:
                return True
        except OSError:
            return True
    return False


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]

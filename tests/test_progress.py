"""Progress: the unlock rule, attempt records, atomic and locked writes, recovery from damage."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import time
from pathlib import Path

import pytest

from checker import progress as progress_mod
from checker.errors import EXIT_SETUP, ProgressError
from checker.progress import (SCHEMA_VERSION, ProgressStore, current_kata, empty_progress,
                              is_unlocked, kata_record, passed_numbers, record_attempt,
                              unlocked_by)
from conftest import assert_no_traceback, copy_course, run_kata_cli

SHA_A = "a" * 64
SHA_B = "b" * 64


# --- the unlock rule -----------------------------------------------------------------------

@pytest.mark.parametrize("number,passed,unlocked", [
    (1, set(), True),
    (1, {2, 3}, True),
    (2, set(), False),
    (2, {1}, True),
    (2, {3}, False),
    (3, set(), False),
    (3, {1}, False),
    (3, {2}, True),
    (3, {1, 2}, True),
    (4, {1, 2}, False),
    (12, set(range(1, 12)), True),
    (12, set(range(1, 11)), False),
])
def test_unlock_rule(number, passed, unlocked):
    assert is_unlocked(number, passed) is unlocked


RELEASED_AROUND_A_GAP = [*range(1, 19), 20, 21]  # kata 19 still being written


@pytest.mark.parametrize("number,passed,unlocked", [
    (20, set(range(1, 19)), True),  # nobody can pass 19: 20 waits on 18
    (20, set(range(1, 18)), False),
    (21, {20}, True),
    (21, set(range(1, 19)), False),
    (18, {17}, True),
    (1, set(), True),
])
def test_unlock_rule_skips_a_kata_not_released_yet(number, passed, unlocked):
    assert is_unlocked(number, passed, RELEASED_AROUND_A_GAP) is unlocked
    assert unlocked_by(20, RELEASED_AROUND_A_GAP) == 18 and unlocked_by(1, RELEASED_AROUND_A_GAP) is None


@pytest.mark.parametrize("numbers,passed,expected", [
    ([1, 2, 3], set(), 1),
    ([1, 2, 3], {1}, 2),
    ([1, 2, 3], {1, 2}, 3),
    ([1, 2, 3], {1, 2, 3}, None),
    ([1, 2, 3], {2, 3}, 1),
    ([1, 2, 3], {1, 3}, 2),
    ([3, 1, 2], {1}, 2),
    ([], set(), None),
])
def test_current_kata(numbers, passed, expected):
    assert current_kata(numbers, passed) == expected


def test_passed_numbers_counts_first_passes_only():
    progress = empty_progress()
    record_attempt(progress, 1, "pass", SHA_A)
    record_attempt(progress, 2, "fail", SHA_A)
    record_attempt(progress, 3, "pass", SHA_A)
    record_attempt(progress, 3, "fail", SHA_B)  # a later failure does not re-lock kata 4
    assert passed_numbers(progress) == {1, 3}


def test_record_attempt_first_pass_then_fail_then_pass():
    progress = empty_progress()
    assert record_attempt(progress, 1, "fail", SHA_B) is False
    record = progress["katas"]["1"]
    assert record["attempts"] == 1 and record["status"] == "fail"
    assert record["first_pass"] is None and record["passed_sha256"] is None

    assert record_attempt(progress, 1, "pass", SHA_A) is True
    first = record["first_pass"]
    assert first and record["last_pass"] and record["passed_sha256"] == SHA_A
    assert record["attempts"] == 2 and record["status"] == "pass"

    assert record_attempt(progress, 1, "fail", SHA_B) is False
    assert record["status"] == "fail" and record["attempts"] == 3
    assert record["first_pass"] == first
    assert record["passed_sha256"] == SHA_A  # the sha of the file that passed, not the latest

    assert record_attempt(progress, 1, "pass", SHA_B) is False
    assert record["first_pass"] == first and record["passed_sha256"] == SHA_B
    assert record["attempts"] == 4


@pytest.mark.parametrize("status", ["fail", "error", "timeout"])
def test_non_pass_never_counts(status):
    progress = empty_progress()
    assert record_attempt(progress, 1, status, SHA_A) is False
    assert passed_numbers(progress) == set()


# --- the store --------------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path) -> ProgressStore:
    return ProgressStore(tmp_path / ".kata")


def _pass(store: ProgressStore, number: int, sha: str = SHA_A) -> None:
    with store.update() as data:
        record_attempt(data, number, "pass", sha)


def test_missing_file_is_empty_and_nothing_written(store):
    data = store.load()
    assert data["katas"] == {} and data["version"] == SCHEMA_VERSION
    assert not store.notices
    assert not store.folder.exists()


def test_update_round_trip_and_backup(store):
    _pass(store, 1)
    assert store.path.is_file()
    first = json.loads(store.path.read_text())
    assert first["katas"]["1"]["passed_sha256"] == SHA_A and first["version"] == SCHEMA_VERSION
    _pass(store, 2, SHA_B)
    assert passed_numbers(store.load()) == {1, 2}
    # the backup is written the same way, with the same text: damage to one file loses nothing
    assert store.backup.read_text() == store.path.read_text()
    assert first != json.loads(store.backup.read_text())
    assert not list(store.folder.glob(".progress-*.tmp"))


def test_exception_inside_update_writes_nothing(store):
    _pass(store, 1)
    before = store.path.read_bytes()
    with pytest.raises(RuntimeError):
        with store.update() as data:
            record_attempt(data, 2, "pass", SHA_B)
            raise RuntimeError("the check crashed")
    assert store.path.read_bytes() == before


def test_interrupted_rename_leaves_the_old_file(store, monkeypatch):
    _pass(store, 1)
    before = store.path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(progress_mod.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _pass(store, 2)
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert passed_numbers(store.load()) == {1}
    assert not store.notices


def _crash_while_writing(folder: str) -> None:
    """Child process: dies (like a kill or power cut) after writing the temp file, before rename."""
    store = ProgressStore(Path(folder))
    progress_mod.os.fsync = lambda fd: os._exit(9)
    with store.update() as data:
        record_attempt(data, 2, "pass", SHA_B)


def test_crash_mid_write_keeps_the_real_file_valid(store):
    _pass(store, 1)
    before = store.path.read_bytes()
    proc = multiprocessing.get_context("fork").Process(target=_crash_while_writing,
                                                      args=(str(store.folder),))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 9
    strays = list(store.folder.glob(".progress-*.tmp"))
    assert strays, "the simulated crash should leave its temp file behind"
    assert store.path.read_bytes() == before
    assert passed_numbers(store.load()) == {1} and not store.notices
    _pass(store, 3)  # the store keeps working with the stray temp file around
    assert passed_numbers(store.load()) == {1, 3}


def _increment(folder: str, times: int) -> None:
    store = ProgressStore(Path(folder))
    for _ in range(times):
        with store.update() as data:
            kata_record(data, 1)["attempts"] += 1


def test_concurrent_updates_lose_nothing(store):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_increment, args=(str(store.folder), 30)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert store.load()["katas"]["1"]["attempts"] == 60
    assert not store.notices


# --- damaged files ----------------------------------------------------------------------------

def _good_text() -> str:
    data = empty_progress()
    record_attempt(data, 1, "pass", SHA_A)
    return json.dumps(data, indent=2)


DAMAGED = {
    "empty": b"",
    "truncated": _good_text()[: len(_good_text()) // 2].encode(),
    "not-json": b"this is not json\n",
    "binary": b"\xff\xfe\x00garbage",
    "list": b"[]",
    "katas-is-list": b'{"version": 1, "katas": []}',
    "no-version": b'{"katas": {}}',
    "bad-kata-key": b'{"version": 1, "katas": {"one": {}}}',
    "record-not-dict": b'{"version": 1, "katas": {"1": "passed"}}',
    "attempts-text": b'{"version": 1, "katas": {"1": {"attempts": "3"}}}',
}


def _corrupt_copies(store: ProgressStore) -> list[Path]:
    return sorted(store.folder.glob("progress.json.corrupt-*"))


@pytest.mark.parametrize("content", DAMAGED.values(), ids=DAMAGED.keys())
def test_damaged_file_without_backup(store, content):
    store.folder.mkdir()
    store.path.write_bytes(content)
    data = store.load()
    assert data["katas"] == {}
    copies = _corrupt_copies(store)
    assert len(copies) == 1 and copies[0].read_bytes() == content
    assert len(store.notices) == 1
    assert copies[0].name in store.notices[0] and "empty record" in store.notices[0]
    # the next write gives a valid file again, and the damaged one never becomes the backup
    _pass(store, 1)
    assert passed_numbers(ProgressStore(store.folder).load()) == {1}
    assert not store.backup.exists() or json.loads(store.backup.read_text())


@pytest.mark.parametrize("content", [DAMAGED["truncated"], DAMAGED["empty"], DAMAGED["list"]],
                         ids=["truncated", "empty", "list"])
def test_damaged_file_recovers_from_backup(store, content):
    _pass(store, 1)
    _pass(store, 2)  # the backup holds both passes too
    store.path.write_bytes(content)
    fresh = ProgressStore(store.folder)
    data = fresh.load()
    assert passed_numbers(data) == {1, 2}
    assert "backup" in fresh.notices[0]
    assert _corrupt_copies(fresh)[0].read_bytes() == content
    with fresh.update() as data:
        record_attempt(data, 3, "pass", SHA_B)
    assert passed_numbers(ProgressStore(store.folder).load()) == {1, 2, 3}
    assert passed_numbers(json.loads(store.backup.read_text())) == {1, 2, 3}


def test_damaged_file_is_set_aside_once(store):
    store.folder.mkdir()
    store.path.write_bytes(b"not json")
    store.load()
    time.sleep(1.1)  # the copies are named by the second
    again = ProgressStore(store.folder)
    again.load()
    assert len(_corrupt_copies(store)) == 1
    assert not again.notices


def test_missing_file_with_backup_uses_backup(store):
    _pass(store, 1)
    _pass(store, 2)
    store.path.unlink()
    assert passed_numbers(store.load()) == {1, 2}


@pytest.mark.parametrize("content", [
    {"version": SCHEMA_VERSION + 1, "katas": {}},
    {"version": SCHEMA_VERSION + 1, "katas": {"1": {"attempts": 2, "first_pass": "2026"}}},
], ids=["empty", "with-pass"])
def test_newer_file_is_refused_and_untouched(store, content):
    store.folder.mkdir()
    store.path.write_text(json.dumps(content))
    before = store.path.read_bytes()
    with pytest.raises(ProgressError, match="newer"):
        store.load()
    with pytest.raises(ProgressError):
        _pass(store, 1)
    assert store.path.read_bytes() == before
    assert not _corrupt_copies(store)


def test_newer_file_with_a_new_layout_is_refused(store):
    store.folder.mkdir()
    store.path.write_text(json.dumps({"version": SCHEMA_VERSION + 1,
                                      "katas": [{"number": 1, "passed": True}]}))
    before = store.path.read_bytes()
    with pytest.raises(ProgressError):
        store.load()
    assert store.path.read_bytes() == before


def test_unwritable_folder(store):
    _pass(store, 1)
    before = store.path.read_bytes()
    mode = store.folder.stat().st_mode
    store.folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(store.folder, os.W_OK):
            pytest.skip("running as a user (root) whom chmod does not stop from writing")
        with pytest.raises(ProgressError, match="progress"):
            _pass(store, 2)
    finally:
        store.folder.chmod(mode)
    assert store.path.read_bytes() == before


def test_state_folder_that_is_a_file(tmp_path):
    """Works as root too: the state folder cannot be created because a file has its name."""
    (tmp_path / ".kata").write_text("not a folder")
    store = ProgressStore(tmp_path / ".kata")
    assert store.load()["katas"] == {}
    with pytest.raises(ProgressError, match="Cannot write"):
        _pass(store, 1)


# --- through the CLI --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_course(tmp_path_factory) -> Path:
    return copy_course(tmp_path_factory.mktemp("progress") / "course")


def test_cli_unwritable_state_is_a_message(cli_course):
    state = cli_course / ".kata"
    state.write_text("not a folder")
    try:
        code, out, err = run_kata_cli(cli_course, "hint", "1")
    finally:
        state.unlink()
    assert code == EXIT_SETUP
    assert "Cannot write" in err
    assert_no_traceback(out, err)


def test_cli_refuses_newer_progress(cli_course):
    state = cli_course / ".kata"
    state.mkdir(exist_ok=True)
    path = state / "progress.json"
    path.write_text(json.dumps({"version": SCHEMA_VERSION + 1, "katas": {}}))
    before = path.read_bytes()
    try:
        code, out, err = run_kata_cli(cli_course, "list")
        assert code == EXIT_SETUP and "newer" in err
        assert_no_traceback(out, err)
        assert path.read_bytes() == before
    finally:
        path.unlink()

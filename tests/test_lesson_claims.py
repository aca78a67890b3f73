"""What the lessons claim outside their check lines holds: the kata they point at, the numbers
they quote (each from a measurement the project can repeat, named in the lesson and recorded in
bench/RESULTS.md), what `kata setup` prints, and what the fresh-input line shows. The claims
about a check's own messages are held where the check runs: kata 18's un-permute answer line by
tests/test_part2_katas.py::test_not_unpermuted_reads_once_and_in_words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from checker.curriculum import load_curriculum

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
CURRICULUM = load_curriculum(ROOT)


def lesson(number: int) -> str:
    """A lesson's text with its line breaks as spaces (claims wrap across lines)."""
    return " ".join((ROOT / f"katas/step_{number:02d}.md").read_text(encoding="utf-8").split())


def results_section(number: int) -> str:
    text = RESULTS.read_text(encoding="utf-8")
    start = text.index(f"\n## {number}. ")
    end = text.find("\n## ", start + 1)
    return " ".join(text[start:end if end > 0 else None].split())


def test_kata_14_names_the_kata_that_compiles_the_whole_model():
    """Chat compiles the learner's whole model into one graph once the KV cache kata passes
    (checker/play/decode.py): kata 14 names that kata (it named kata 18)."""
    said = re.search(r"once kata (\d+) passes, `kata chat` can compile your whole model into one "
                     r"graph", lesson(14))
    assert said, "step_14.md no longer says which kata lets chat compile the whole model"
    assert int(said.group(1)) == CURRICULUM.provider("cache").number == 19


# (kata, the lesson's words, the measurement it names, RESULTS.md section, the words there)
NUMBERS = [
    (18, "it took 63 s on the course's 2-core machine at load 15", "python bench/check_latency.py --katas 18",
     8, "| after | 63.1 | 33.7 | 15.1-15.5 |"),
    (19, "about 27 tokens/s on SmolLM2-135M on a quiet 2-core machine",
     "python bench/generation_llama.py", 7, "27.02 (28.91)"),
    (19, "twice transformers' speed", "python bench/generation_llama.py", 7, "**2.16x**"),
    (19, "8 tokens/s while other work ran", "python bench/generation_llama.py", 7,
     "ours 7.91 tokens/s"),
    (19, "7-11 s per token (the same section)", "python bench/generation_llama.py", 7,
     "7-11 s per token on SmolLM2"),
    (19, "The whole check takes 15-20 s on a busy 2-core machine", "python bench/check_latency.py --katas 19",
     8, "15.4, 17.8 and 18.6 s"),
]


@pytest.mark.parametrize("kata,words,measured_by,section,recorded", NUMBERS,
                         ids=[f"kata{n[0]}-{n[1][:20]}" for n in NUMBERS])
def test_a_quoted_number_is_a_recorded_measurement(kata, words, measured_by, section, recorded):
    text = lesson(kata)
    assert words in text, f"step_{kata:02d}.md no longer says {words!r}: update this table"
    assert measured_by in text and f"bench/RESULTS.md section {section}" in text
    assert (ROOT / measured_by.split()[1]).is_file()
    assert recorded in results_section(section), (section, recorded)
    assert measured_by.split()[1] in results_section(section) or section == 8


def test_kata_18_quotes_no_unmeasured_time():
    """Dequantizing "in a few seconds" (a learner's load_gguf took 29 s) and the check "about two
    minutes" (3 min 50 s) were not measurements: gone."""
    text = lesson(18)
    assert "a few seconds" not in text and "about two minutes" not in text
    assert "*first* greedy token is still right" not in text
    assert ("its turn at once: `kata check 18`'s chat answer line says `answer token 1 is 2 "
            "('<|im_end|>'); Hugging Face's is 504 ('The')`") in text


def test_kata_18_quotes_its_live_line_as_the_check_shows_it():
    """The live line the lesson quotes is the step kata 18's kit names, with the seconds the
    watchdog adds (tests/test_part2_katas.py sees that step in a real check)."""
    from checker.check.watchdog import step_line

    step = "reading SmolLM2's file with your load_gguf"
    assert f"`Checking kata 18: {step_line(step, 4)}`" in lesson(18)
    kit = (ROOT / "checker" / "course" / "kata18_real_weights" / "kit.py").read_text(encoding="utf-8")
    assert f'step("{step}")' in kit


def test_kata_18_says_where_kata_setup_puts_the_model(monkeypatch, tmp_path):
    """The lesson's folder is the model cache's default, it names KATA_MODEL_CACHE, and the line
    it quotes is the one `kata setup` prints last."""
    from click.testing import CliRunner

    from checker.cli import play
    from checker.models import smollm2
    from checker.play import warmup

    text = lesson(18)
    monkeypatch.delenv("KATA_MODEL_CACHE", raising=False)
    assert smollm2.cache_dir() == Path.home() / ".cache" / "kata" / "models"
    assert "into `~/.cache/kata/models/` (or the folder the environment variable `KATA_MODEL_CACHE` names)" in text
    shown = f"SmolLM2-135M-Instruct for Part 2: /home/you/.cache/kata/models/{smollm2.SPEC.filename}"
    assert f"prints last: `{shown}`" in text

    monkeypatch.setattr(warmup, "warm", lambda console, everything=False: 0)
    monkeypatch.setattr(smollm2, "ensure_gguf", lambda path, echo=print: Path("/home/you/.cache/kata/models") / smollm2.SPEC.filename)
    done = CliRunner().invoke(play.setup, [])
    assert done.exit_code == 0, done.output
    assert " ".join(done.output.split()).endswith(shown), done.output  # wrapped at 80 columns here


FRESH = ("It is judged only once every line above passes; until then the line reads \"Not judged: "
         "fix the failures above first\", unless your code failed or raised on these inputs: then "
         "the line shows that failure, like any other.")
FRESH_1 = ("judges this, once every line above passes; until then the line reads \"Not judged: fix "
           "the failures above first\", unless your code failed or raised on these inputs: then the "
           "line shows that failure, like any other.")
OWNED_ELSEWHERE: dict[int, str] = {}  # a lesson whose section is being rewritten: xfail with why


@pytest.mark.parametrize("kata", [
    pytest.param(k.number, marks=pytest.mark.xfail(reason=OWNED_ELSEWHERE[k.number], strict=False))
    if k.number in OWNED_ELSEWHERE else k.number for k in CURRICULUM.available])
def test_the_fresh_line_is_described_as_it_behaves(kata):
    """The fresh-input line: "not judged" beside failing lines, but your code's own failure on
    those inputs is shown (checker/check/verdict.py; test_check_json.py's
    test_fresh_line_for_each_judgement holds the behaviour, checked here too)."""
    from checker.check.verdict import CHILD_TEST, NOT_JUDGED, FreshJudgement, shown_tests

    assert (FRESH_1 if kata == 1 else FRESH) in lesson(kata)
    assert NOT_JUDGED.startswith("Not judged: fix the failures above first")
    others = [{"name": "test_x", "status": "fail", "message": "wrong"}]
    for child, shown in (("pass", "skip"), ("fail", "fail"), ("error", "error")):
        line = shown_tests(others + [{"name": CHILD_TEST, "status": child, "message": "raised"}],
                           FreshJudgement.NOT_JUDGED)[-1]
        assert line["status"] == shown and (line["message"] == NOT_JUDGED) == (shown == "skip")


@pytest.mark.parametrize("kata,atol,rtol", [(9, "ATOL", "RTOL"), (11, "ATOL", "RTOL"),
                                            (14, "ATOL", "RTOL"), (18, "LOGITS_ATOL", "LOGITS_RTOL")])
def test_the_fresh_tolerance_a_lesson_states_is_the_judges(kata, atol, rtol):
    """The fresh-input tolerances set from bench/fresh_margins.py (RESULTS section 12) are the ones
    the lessons state."""
    import importlib

    spec = importlib.import_module(CURRICULUM.get(kata).package + ".spec")
    def written(x: float) -> str:  # 2e-4, as lessons write it
        return f"{x:.0e}".replace("e-0", "e-")

    words = f"`{written(getattr(spec, atol))} + {written(getattr(spec, rtol))} * |expected|`"
    text = lesson(kata)
    fresh = text[text.index("**on inputs made up for this check**"):]
    assert words in fresh, (kata, words)


# A lesson's table of spellings to change sits under a header row "| instead of | write |"; its
# left cells name, in backticks, what not to write ("..." stands for anything in a call).
AVOID_HEADER = re.compile(r"^\|\s*instead of\s*\|\s*write\s*\|\s*$", re.MULTILINE)


def spellings_to_avoid(lesson_text: str) -> list[str]:
    """The backticked spellings in the left column of each "instead of | write" table."""
    found = []
    for header in AVOID_HEADER.finditer(lesson_text):
        for row in lesson_text[header.end():].lstrip("\n").splitlines()[1:]:
            if not row.startswith("|"):
                break
            found += re.findall(r"`([^`]+)`", row.split("|")[1])
    return found


def taught_code(lesson_text: str, hints: tuple[str, ...]) -> str:
    """What a lesson teaches as code: its fenced blocks and its hints."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", lesson_text, re.MULTILINE | re.DOTALL)
    return "\n".join(blocks + list(hints))


def teaches(code: str, spelling: str) -> bool:
    """Whether code holds the spelling, spaces aside, with "..." matching anything."""
    squeeze = lambda text: re.sub(r"\s+", "", text)  # noqa: E731
    pattern = ".*?".join(re.escape(part) for part in squeeze(spelling).split("..."))
    return re.search(pattern, squeeze(code)) is not None


def retracted_spellings(lessons: dict[int, tuple[str, tuple[str, ...]]]) -> list[str]:
    """(earlier kata, later kata, spelling) for every spelling a later lesson lists to avoid and
    an earlier lesson or its hints teach."""
    found = []
    for later, (text, _) in lessons.items():
        for spelling in spellings_to_avoid(text):
            found += [f"kata {earlier} teaches `{spelling}`, which kata {later} says to change"
                      for earlier, (earlier_text, hints) in lessons.items()
                      if earlier < later and teaches(taught_code(earlier_text, hints), spelling)]
    return found


def course_lessons() -> dict[int, tuple[str, tuple[str, ...]]]:
    return {k.number: ((ROOT / f"katas/step_{k.number:02d}.md").read_text(encoding="utf-8"), k.hints)
            for k in CURRICULUM.available}


def test_no_lesson_teaches_a_spelling_a_later_lesson_retracts():
    """Issue 22: katas 2 and 14 taught F.band_part and Tensor.arange(...) + start, which kata 19
    then listed as spellings that stop `kata chat` compiling."""
    lessons = course_lessons()
    assert spellings_to_avoid(lessons[19][0]), "kata 19's table of spellings was not found"
    assert retracted_spellings(lessons) == []


def test_a_retracted_spelling_is_found():
    """The rule above can fail: kata 2's and kata 14's old MAX blocks are caught."""
    old_2 = "```python\nF.band_part(x, num_lower=None, num_upper=k, exclude=True)\n```\n"
    old_14 = "```python\nTensor.arange(seq_len,  dtype=DType.float32) + start  # positions\n```\n"
    old_hint = ("keep only the strict upper part with F.band_part(mask, num_lower=None, "
                "num_upper=num_tokens, exclude=True).",)
    later = course_lessons()[19]
    assert len(retracted_spellings({2: (old_2, ()), 14: (old_14, ()), 19: later})) == 2
    assert len(retracted_spellings({2: ("", old_hint), 19: later})) == 1
    assert retracted_spellings({2: ("`F.band_part` in prose only", ()), 19: later}) == []

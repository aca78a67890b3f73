"""`kata chat`'s parent side: whose sampler draws the tokens, and what chat says at start (which of
the learner's katas it runs). The sampler and KV-cache katas are the ones curriculum.yaml marks
`provides: sampler` and `provides: cache`; nothing here names a kata by number."""

from __future__ import annotations

from checker.curriculum import Curriculum, Kata
from checker.errors import KataError, LockedError

MOST_TOKENS = 1024  # `kata chat --max-tokens`'s upper bound: the option's range, the child's advice


def sampler_kata(curriculum: Curriculum, passed: set[int], settings: dict, temperature: float,
                 force: bool) -> Kata | None:
    """The kata whose code chooses chat's tokens: the course's sampler kata once it passes (with
    --force, as it is, when its settings are asked for). None: greedy, or the built-in sampler.
    Its settings before that are refused (exit 3, as for any locked kata)."""
    kata = curriculum.provider("sampler")
    if kata is not None and kata.available and (kata.number in passed or (force and settings)):
        # greedy runs none of it (the filters never change the top token), but the penalty
        return kata if temperature > 0 or "repetition_penalty" in settings else None
    if settings:
        flags = ", ".join("--" + name.replace("_", "-") for name in settings)
        if kata is None or not kata.available:
            raise KataError(f"{flags}: this course has no sampler kata released yet; "
                            "--temperature works, with the checker's own sampler.")
        raise LockedError(f"Your own sampler, kata {kata.number} ({kata.title}), chooses the "
                          f"tokens for {flags}, and it has not passed yet. Run `kata check "
                          f"{kata.number}` first (or add --force to use it as it is). --temperature "
                          "works now, with the checker's own sampler.")
    return None


def cache_kata(curriculum: Curriculum, passed: set[int]) -> Kata | None:
    """The kata whose KV cache chat runs the model with (curriculum.yaml's `provides: cache`), once
    it has passed; None: the whole conversation through the model for every token."""
    kata = curriculum.provider("cache")
    return kata if kata is not None and kata.available and kata.number in passed else None


def speculative_kata(curriculum: Curriculum, passed: set[int], mode: str | None,
                     temperature: float, force: bool) -> Kata | None:
    """The kata whose speculative decoding chat runs for --speculative (curriculum.yaml's
    `provides: speculative`), once it passes (or with --force). None without --speculative. It
    decodes greedily (the same tokens as without it): sampling is refused."""
    if mode is None:
        return None
    kata = curriculum.provider("speculative")
    if kata is None or not kata.available:
        raise KataError(f"--speculative {mode}: this course has no speculative decoding kata yet.")
    if kata.number not in passed and not force:
        raise LockedError(f"--speculative runs your speculative decoding, kata {kata.number} "
                          f"({kata.title}), which has not passed yet. Run `kata check {kata.number}` "
                          "first (or add --force to use it as it is).")
    if temperature > 0:
        raise KataError(f"--speculative {mode} decodes greedily (the same tokens as without it); "
                        "leave out --temperature.")
    cache = curriculum.provider("cache")
    if cache is not None and cache.number not in passed and not force:
        raise LockedError(f"--speculative needs your KV cache, kata {cache.number}: run `kata check "
                          f"{cache.number}` first.")
    return kata


def banner(curriculum: Curriculum, kata: Kata, sampler: Kata | None, temperature: float,
           settings: dict, gguf: str, cache: Kata | None = None,
           speculative: tuple[Kata, str] | None = None) -> str:
    """What chat says at start: which of the learner's katas it runs, and how tokens are chosen."""
    model = [k.number for k in curriculum.prerequisites(kata)] + [kata.number]
    parts = [f"{spans(model)} (model)"]
    if cache is not None:
        parts.append(f"{cache.number} (KV cache)")
    if sampler is not None:
        parts.append(f"{sampler.number} ({sampler.slug})")
    if speculative is not None:
        parts.append(f"{speculative[0].number} (speculative decoding, {speculative[1]})")
    if temperature > 0:
        own = curriculum.provider("sampler")
        how = "" if sampler is not None else (
            f" Tokens drawn by the checker's own sampler at temperature {temperature:g}"
            + (f" (once kata {own.number} passes, yours draws them)." if own and own.available
               else "."))
    else:
        how = " Greedy: the most likely token each time" + (
            ", after your repetition penalty." if sampler is not None else ".")
    if temperature <= 0 and set(settings) - {"repetition_penalty"}:
        how += " --top-k, --top-p and --min-p only matter when sampling (--temperature above 0)."
    later = "" if cache is not None else " " + without_cache(curriculum)
    return f"Your own Llama: your katas {', '.join(parts)}, with {gguf}.{how}{later}"


# What `kata chat` measured without a KV cache and with one, the reference katas on SmolLM2, on
# the course's 2-core machine (bench/chat_startup.py, bench/RESULTS.md section 13).
SPEED_WITHOUT_CACHE = "1 to 3 tokens/s at first, slower as the conversation grows"
SPEED_WITH_CACHE = "about 25 tokens/s"


def without_cache(curriculum: Curriculum) -> str:
    """What chat says before the KV cache kata passes: the speed to expect, and what fixes it."""
    kata = curriculum.provider("cache")
    fix = (f" Kata {kata.number} ({kata.title}) fixes that: only the new token goes through the "
           f"model, {SPEED_WITH_CACHE}." if kata is not None and kata.available else "")
    return ("No KV cache yet: each token re-reads the whole conversation, so expect "
            f"{SPEED_WITHOUT_CACHE} (your model is compiled for 64, 128, 256, ... tokens as the "
            f"conversation reaches them: minutes each, once per machine).{fix}")


def spans(numbers: list[int]) -> str:
    """[2, 13, 14, 15, 16, 17, 18] -> '2, 13-18'."""
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)

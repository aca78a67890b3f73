"""How close the reference solutions come to failing their fresh-input judgement (maintainers').

For each kata with fresh inputs (a spec.py), one worker process per kata (so MAX compiles once)
imports the kata's reference solution as the check's child imports a learner's file (earlier
katas from the reference solutions), then, draw after draw, does what a check does with fresh
inputs: spec.draw (the parent's), spec.run (the child's), the outputs saved and read back as
arrays, spec.judge (the parent's), and records the worst error-to-tolerance ratio
|got - want| / (atol + rtol * |want|) of the judgement's comparisons (checker.diagnose.margins;
1 is the edge of failing). Judgements with a tie rule (greedy tokens: the gap to the best logit
over the tie allowance) or a statistical test (the draws' distance over its bound) record those
ratios too, reported apart under "by_kind"; judgements that compare exactly report no ratio:
their "measured" is false.

    python bench/fresh_margins.py [--katas 3,18] [--draws 200] [--seed 0] [--keep DIR]

prints one JSON object: per kata the draws, the worst ratio, a few quantiles, the draws that
failed (a reference solution must fail none), seconds per draw, and the load average before and
after. --keep DIR saves the worst draw's inputs and outputs of each kata's worker there. Each
worker process runs at most --per-process draws (default 20; draws seeded by seed, kata and
worker): MAX's memory grows with every forward, and 194 of kata 18's draws in one process
reached 22 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def katas_with_fresh_inputs(curriculum) -> list:
    return [k for k in curriculum.available if (curriculum.root / k.folder / "spec.py").exists()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--katas", help="comma-separated kata numbers (default: every kata with a spec.py)")
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="save each kata's worst draw here")
    parser.add_argument("--per-process", type=int, default=20,
                        help="draws per worker process (MAX's memory grows with every forward: "
                             "kata 18's by about 100 MB a draw)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--chunk", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        return worker(args.worker, args.draws, args.seed, args.chunk, args.keep)

    from checker.curriculum import load_curriculum
    from checker.dev.verify import solution_katas

    curriculum = load_curriculum(REPO)
    katas = katas_with_fresh_inputs(curriculum)
    if args.katas:
        wanted = {int(n) for n in args.katas.split(",")}
        katas = [k for k in katas if k.number in wanted]
    report = {"draws": args.draws, "seed": args.seed, "load_before": os.getloadavg()[0],
              "katas": {}}
    with tempfile.TemporaryDirectory(prefix="kata-margins-") as tmp:
        solutions = solution_katas(curriculum, Path(tmp) / "solutions")
        for kata in katas:
            report["katas"][str(kata.number)] = run_worker(kata, solutions, args)
            print(f"kata {kata.number}: {json.dumps(report['katas'][str(kata.number)])}",
                  file=sys.stderr, flush=True)
    report["load_after"] = os.getloadavg()[0]
    print(json.dumps(report, indent=1))
    return 0 if all(not k.get("failed") and not k.get("error") for k in report["katas"].values()) else 1


def run_worker(kata, solutions: Path, args) -> dict:
    """One kata's draws, in processes set up like the check's child, --per-process draws each."""
    import numpy as np

    parts, left, chunk = [], args.draws, 0
    while left > 0:
        part = run_chunk(kata, solutions, args, chunk, min(left, args.per_process))
        if "error" in part:
            return part
        parts.append(part)
        left, chunk = left - part["draws"], chunk + 1
    ratios = [r for part in parts for r in part.pop("ratios")]
    kinds: dict[str, list] = {}
    for part in parts:
        for kind, values in part.pop("by_kind").items():
            kinds.setdefault(kind, []).extend(values)
    result = {"draws": args.draws, "measured": bool(ratios),
              "failed": [f for part in parts for f in part["failed"]],
              "s_per_draw": round(float(np.median([p["s_per_draw"] for p in parts])), 3)
              if all(p["s_per_draw"] is not None for p in parts) else None,
              "wall_s": round(sum(p["wall_s"] for p in parts), 1), "processes": len(parts)}
    if ratios:
        r = np.array(ratios)
        result.update(worst=float(r.max()), median=float(np.median(r)),
                      p90=float(np.quantile(r, 0.9)), p99=float(np.quantile(r, 0.99)),
                      over_half=int((r > 0.5).sum()), at_or_over_1=int((r >= 1).sum()))
    if len(kinds) > 1 or set(kinds) - {"tolerance"}:  # a tie rule or a statistical test too
        result["by_kind"] = {kind: {"worst": float(np.max(v)), "median": float(np.median(v)),
                                    "p99": float(np.quantile(v, 0.99)), "draws": len(v)}
                             for kind, v in kinds.items()}
    return result


def run_chunk(kata, solutions: Path, args, chunk: int, draws: int) -> dict:
    from checker import protocol
    from checker.check import fresh
    from checker.protocol import Env

    env = protocol.child_env(REPO, **{
        Env.FILE: str(solutions / Path(kata.file).name), Env.MODULE: kata.module,
        Env.PACKAGE: kata.package, Env.DEPS_DIR: str(solutions),
        Env.USES_MAX: "1" if kata.uses_max else "0", "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.pop(Env.PARENT_PID, None)
    env.update(fresh.prepare(kata, lambda text: print(text, file=sys.stderr)))
    command = [sys.executable, __file__, "--worker", str(kata.number), "--draws", str(draws),
               "--seed", str(args.seed), "--chunk", str(chunk)] + \
        (["--keep", str(args.keep)] if args.keep else [])
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
                          stdin=subprocess.DEVNULL)  # its progress goes to our stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": f"worker exited {done.returncode} (its stderr above)"}
    result = json.loads(lines[-1])
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


def worker(number: int, draws: int, seed: int, chunk: int, keep: Path | None) -> int:
    from checker.child import sigint

    sigint.install()  # before MAX: as the child's plugin does
    import numpy as np

    from checker import diagnose, protocol
    from checker.check import fresh
    from checker.child import plugin
    from checker.child.learner_import import import_learner
    from checker.curriculum import load_curriculum
    from checker.paths import fixtures_dir

    plugin._use_cpu_float32()  # MAX on the CPU in float32, compiles silenced
    curriculum = load_curriculum(REPO)
    kata = curriculum.get(number)
    fixtures = fixtures_dir(REPO)
    spec = fresh.spec_of(kata)
    learner = import_learner(REPO)
    rng = np.random.default_rng([seed, number, chunk])
    ratios, failed, seconds, by_kind = [], [], [], {}
    worst, worst_files = -1.0, None
    with tempfile.TemporaryDirectory(prefix="kata-draw-") as tmp:
        files = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        for i in range(draws):
            started = time.perf_counter()
            inputs = spec.draw(rng, fixtures)
            protocol.save_arrays(files[0], inputs)
            inputs = protocol.load_arrays(files[0])
            outputs = spec.run(learner, inputs)
            if outputs is None:
                failed.append({"draw": i, "problem": "the reference solution's run returned None"})
                continue
            protocol.save_arrays(files[1], outputs)
            outputs = protocol.load_arrays(files[1])
            with diagnose.margins() as seen:
                problem = spec.judge(inputs, outputs, fixtures)
            seconds.append(time.perf_counter() - started)
            if problem:
                failed.append({"draw": i, "problem": problem[:500]})
            for kind, ratio in seen.by_kind.items():
                by_kind.setdefault(kind, []).append(ratio)
            if seen.worst is not None:
                ratios.append(seen.worst)
                if keep and seen.worst > worst:
                    worst = seen.worst
                    worst_files = {**{f"in.{k}": v for k, v in inputs.items()},
                                   **{f"out.{k}": v for k, v in outputs.items()}}
            print(f"kata {number} chunk {chunk} draw {i}: ratio {seen.worst} {problem or ''}"[:300],
                  file=sys.stderr, flush=True)
    if keep and worst_files:
        keep.mkdir(parents=True, exist_ok=True)
        protocol.save_arrays(keep / f"kata{number:02d}_chunk{chunk}_worst.npz", worst_files)
    for item in failed:
        item["draw"] = f"{chunk}.{item['draw']}"
    result = {"draws": draws, "ratios": ratios, "by_kind": by_kind, "failed": failed,
              "s_per_draw": round(float(np.median(seconds)), 3) if seconds else None}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

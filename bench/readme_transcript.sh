#!/usr/bin/env bash
# Re-makes the README's transcript of a failing check, a hint and a pass, from a real run: a
# learner who passed katas 1-2 forgets the bias in kata 3. Usage: bench/readme_transcript.sh
set -u
WT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
mkdir -p $T/course && cd $T/course
cp $WT/curriculum.yaml . && cp -r $WT/katas $WT/fixtures $WT/checker .
find . -name __pycache__ -prune -exec rm -rf {} +
git init -q . && git add -A && git -c user.name="Ada Learner" -c user.email=ada@example.com commit -qm course
cp checker/solutions/step_01.py katas/ && cp checker/solutions/step_02.py katas/
export KATA_ROOT=$PWD COLUMNS=100 PYTHONPATH=$WT
K="python -m checker.cli"
$K check 1 >/dev/null 2>&1; $K check 2 >/dev/null 2>&1
sed 's/beta=self.bias,/beta=self.bias * 0,/' checker/solutions/step_03.py > katas/step_03.py
run() { echo "\$ kata $*"; $K "$@" 2>&1; }
run check 3
run hint 3
cp checker/solutions/step_03.py katas/step_03.py
run check 3
run
rm -rf "$T"

#!/usr/bin/env bash
# One GitHub Classroom grader step: check kata $1 (worth $2 points) from the learner's files and
# hand the result to Classroom's reporter as the step output `result` (base64 JSON).
# Usage: .github/classroom/grade.sh KATA POINTS
set -uo pipefail
kata="$1"
points="$2"
name=$(printf 'kata-%02d' "$kata")
mkdir -p kata-results
kata check "$kata" --force --json --points "$points" --junit "kata-results/$name.xml" \
  > "kata-results/$name.json"
status=$?
echo "kata check $kata: exit code $status"
if ! python -c 'import json, sys; json.load(open(sys.argv[1]))' "kata-results/$name.json" 2>/dev/null; then
  # No JSON means the check could not start (exit code 2: a setup problem, said above in the log).
  printf '{"version": 3, "status": "error", "message": "kata check %s could not run (exit code %s): see the log of this step.", "tests": [{"name": "kata %s", "status": "error", "message": "see the log of this step", "output": null, "score": 0}], "score": 0, "max_score": %s}\n' \
    "$kata" "$status" "$kata" "$points" > "kata-results/$name.json"
fi
echo "result=$(base64 -w0 "kata-results/$name.json")" >> "${GITHUB_OUTPUT:-/dev/stdout}"

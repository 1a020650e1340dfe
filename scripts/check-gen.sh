#!/usr/bin/env bash
# Fails when src/gen is not exactly what the protos generate.
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf lint
npx buf generate
if ! git diff --quiet --exit-code -- src/gen || [ -n "$(git ls-files --others --exclude-standard src/gen)" ]; then
  echo "src/gen differs from what 'npm run generate' produces; run it and commit the result:" >&2
  git status --short src/gen >&2
  exit 1
fi
echo "src/gen is up to date"

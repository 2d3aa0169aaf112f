#!/usr/bin/env bash
# make spec-diff: the API changes between the merged spec of the base revision
# and the committed one (oasdiff, via openapi/cmd/specdiff); fails on a
# breaking change not acknowledged in openapi/breaking-changes-ack.yaml.
#
# BASE_REF names the base (default: origin/main, else main). The spec is
# compared with the merge base of BASE_REF and HEAD, i.e. where this branch
# left it; on the base branch itself, with the previous commit. With no base
# (a single commit, a shallow clone, a spec that did not exist yet) there is
# nothing to compare and it says so.
set -euo pipefail
cd "$(dirname "$0")/.."
spec=openapi/runai.yaml

commit() { git rev-parse -q --verify "$1^{commit}" 2>/dev/null; }

ref="${BASE_REF:-}"
if [ -n "$ref" ]; then
  commit "$ref" >/dev/null || { echo "spec-diff: BASE_REF=$ref is not a commit here (fetch it first?)" >&2; exit 2; }
else
  for r in origin/main main; do
    if commit "$r" >/dev/null; then ref=$r; break; fi
  done
fi

base=""
if [ -n "$ref" ]; then
  base=$(git merge-base "$ref" HEAD 2>/dev/null || true)
fi
if [ -z "$base" ] || [ "$base" = "$(git rev-parse HEAD)" ]; then
  base=$(commit HEAD~1 || true)
fi
if [ -z "$base" ]; then
  echo "spec-diff: no base revision (single commit or shallow clone): nothing to compare"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! git show "$base:$spec" > "$tmp/base.yaml" 2>/dev/null; then
  echo "spec-diff: $spec does not exist at $(git rev-parse --short "$base"): nothing to compare"
  exit 0
fi
echo "spec-diff: base ${ref:-HEAD~1} -> $(git rev-parse --short "$base")"
go run ./openapi/cmd/specdiff -base "$tmp/base.yaml" -revision "$spec" -ack openapi/breaking-changes-ack.yaml

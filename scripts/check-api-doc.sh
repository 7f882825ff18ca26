#!/bin/sh
# Fails when docs/api.md, the repository's copy of the public contract, differs
# from the shared one the team edits (../shared/API.md beside the clone). A
# clone without that folder beside it (a CI checkout) cannot compare: it says
# so loudly and passes, so the check never blocks a build it cannot judge.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
doc="$root/docs/api.md"
shared="$root/../shared/API.md"

if [ ! -f "$doc" ]; then
  echo "check-api-doc: docs/api.md is missing: cp ../shared/API.md docs/api.md" >&2
  exit 1
fi
if [ ! -f "$shared" ]; then
  echo "check-api-doc: NOTICE: ../shared/API.md not found beside this clone; docs/api.md was NOT compared with the shared contract" >&2
  exit 0
fi
if ! cmp -s "$doc" "$shared"; then
  echo "check-api-doc: docs/api.md differs from ../shared/API.md: copy the shared contract in (cp ../shared/API.md docs/api.md)" >&2
  exit 1
fi
echo "check-api-doc: docs/api.md matches ../shared/API.md"

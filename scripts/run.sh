#!/bin/sh
# Runs an entry of the build in dist/ (npm start, the admin CLI) and never
# rebuilds: dist/ is what `npm install` (the prepare script) or `npm run build`
# made. Without a build it says what to run, in one line, and exits 1.
#   sh scripts/run.sh main.js                 # npm start
#   sh scripts/run.sh cli/admin.js user:list  # npm run user:list
entry=$1
shift
if [ ! -f "dist/$entry" ]; then
  echo "tokengate: no build (dist/$entry is missing): run \`npm run build\` first (npm install runs it too)" >&2
  exit 1
fi
# Memory bounds from package.json "config" (see README, "Operations").
MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-${npm_package_config_malloc_arena_max:-2}}
# A fixed mmap threshold: glibc otherwise raises it after the first free of an
# Argon2 block (19 MiB) and then keeps every later block in its heap, never
# returning it; fixed, each block is unmapped when its hash is done.
MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-${npm_package_config_malloc_mmap_threshold:-131072}}
export MALLOC_ARENA_MAX MALLOC_MMAP_THRESHOLD_
# shellcheck disable=SC2086 # the flags are several words on purpose
exec node ${npm_package_config_node_flags:-} "dist/$entry" "$@"

#!/usr/bin/env bash
# Peak memory and time of the compiled `sf migrate plan` on a 1 GB CSV (the CSV goes to /tmp,
# never into the repository). The plan streams the file, so peak RSS must not grow with its size.
# Three runs, for comparison:
#   1. `sf migrate plan` (bin/run.js) on the 1 GB CSV
#   2. the same command on the 130 kB example migration: the CLI's own start-up cost
#   3. the planning library alone (bench/plan-memory.library.mjs) on the 1 GB CSV
#
#   bench/plan-memory.sh [bytes]      (default 1000000000; BENCH_OUT=/tmp/sf-migrate-bench)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$root/node_modules/.bin:$PATH"
out="${BENCH_OUT:-/tmp/sf-migrate-bench}"
bytes="${1:-1000000000}"

cd "$root"
npm run build >/dev/null
if [ ! -f "$out/accounts.csv" ] || [ "$(stat -c %s "$out/accounts.csv")" -lt "$bytes" ]; then
  node --import tsx bench/plan-memory.ts --out "$out" --bytes "$bytes"
fi
ls -l "$out/accounts.csv"

measure() {
  local label="$1"
  shift
  /usr/bin/time -v "$@" >"$out/stdout.txt" 2>"$out/time.txt" || { cat "$out/time.txt"; exit 1; }
  local rss elapsed
  rss=$(grep "Maximum resident set size" "$out/time.txt" | awk '{print $NF}')
  elapsed=$(grep "Elapsed (wall clock)" "$out/time.txt" | awk '{print $NF}')
  printf '%-48s peak RSS %4d MB   wall %s\n' "$label" $((rss / 1024)) "$elapsed"
}

measure "sf migrate plan, 1 GB CSV" node bin/run.js migrate plan --manifest "$out/migration.json" --json
node -e 'const p=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).result; console.log(`  plan: ${p.totals.records} records, ${p.totals.bytes} bytes, ${p.totals.jobs} jobs, ~${p.totals.apiCalls} API calls`)' "$out/stdout.txt"
measure "sf migrate plan, example migration (130 kB)" node bin/run.js migrate plan --manifest examples/legacy-crm/migration.json --json
measure "planning library alone, 1 GB CSV" node bench/plan-memory.library.mjs "$out/migration.json"

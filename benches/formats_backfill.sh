#!/usr/bin/env bash
# Backfill of the same generated requests written as JSON and as nginx's
# `combined` (+ $request_time $host), in interleaved pairs: wall time of each
# and the medians. See benches/README.md.
#
#   RUNS=R bash benches/formats_backfill.sh [LINES]   # default 2000000, R=7 pairs
#
# Runnable from any directory. Builds with `cargo build --release`, works in a
# temporary directory that is removed at exit.
set -euo pipefail

say() { printf '%s\n' "$*" >&2; }
die() { say "formats_backfill.sh: $*"; exit 2; }

LINES=${1:-2000000}
RUNS=${RUNS:-7}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=benches/common.sh
source "$ROOT/benches/common.sh"
positive LINES "$LINES"
positive RUNS "$RUNS"
build_release

enter_workdir

say "== $LINES requests, as JSON and as nginx combined"
"$BIN" gen --count "$LINES" --rate 2000 --seed 7 --out g.jsonl 2>/dev/null
"$BIN" gen --count "$LINES" --rate 2000 --seed 7 --format nginx --out g.nginx 2>/dev/null

# The same three SLIs over each format's own field names.
cat > json.toml <<'TOML'
[decode.fields]
latency = "latency_ms"
[[sli]]
name = "checkout"
filter = 'http.route =~ "^/api/checkout"'
good = 'status < 500'
[[sli]]
name = "search-latency"
filter = 'service == "search"'
good = 'latency <= 300ms'
[[sli]]
name = "all"
good = 'status < 500'
TOML
cat > nginx.toml <<'TOML'
[decode]
format = "nginx"
log_format = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $host'
[[sli]]
name = "checkout"
filter = 'request_uri =~ "^/api/checkout"'
good = 'status < 500'
[[sli]]
name = "search-latency"
filter = 'host == "search.internal"'
good = 'latency <= 300ms'
[[sli]]
name = "all"
good = 'status < 500'
TOML

seconds() { # CONFIG INPUT -> wall seconds; the summary's `all` row to all.FORMAT
    local start end
    start=$(date +%s.%N)
    "$BIN" backfill -c "$1" --output out.jsonl "$2" 2> summary.txt
    end=$(date +%s.%N)
    grep -E '^all ' summary.txt > "all.$1"
    echo "$end - $start" | bc -l
}

command -v bc >/dev/null || die "bc is required (apt-get install bc)"
json=() nginx=()
for ((i = 1; i <= RUNS; i++)); do
    json+=("$(seconds json.toml g.jsonl)")
    nginx+=("$(seconds nginx.toml g.nginx)")
    say "pair $i: json ${json[-1]} s, nginx ${nginx[-1]} s"
done
# Both read the same requests: the SLI over every request must agree.
cmp -s all.json.toml all.nginx.toml || die "the 'all' SLI differs: $(cat all.json.toml) / $(cat all.nginx.toml)"
mj=$(median "${json[@]}")
mn=$(median "${nginx[@]}")
printf 'bytes: json %s, nginx %s\n' "$(stat -c %s g.jsonl)" "$(stat -c %s g.nginx)"
printf 'median of %s pairs: json %.3f s, nginx %.3f s; nginx speed against json: %.2f\n' \
    "$RUNS" "$mj" "$mn" "$(echo "$mj / $mn" | bc -l)"

#!/usr/bin/env bash
# Record throughput into PostgreSQL: `slipstream backfill` of the same
# generated logs with one-second windows (so that there are many records),
# once to a JSONL file (`--output`) and once to a `postgres` sink, against a
# throwaway local cluster (.ci/postgres.sh). The summary's per-sink write
# time gives rows/s; the file write in the same run is the baseline.
#
#   bash benches/postgres_sink.sh [EVENTS]       # default 1000000
#
# Then, for the effect on the stream job's event rate, the Kafka benchmark
# with and without a postgres sink (see benches/README.md):
#
#   KAFKA=1 bash benches/postgres_sink.sh [EVENTS]
#
# Needs Debian's `postgresql` package. Works in a temporary directory that is
# removed at exit, and stops the cluster at exit.
set -euo pipefail

say() { printf '%s\n' "$*" >&2; }
die() { say "postgres_sink.sh: $*"; exit 2; }

N=${1:-1000000}
[[ $N =~ ^[1-9][0-9]*$ ]] || die "EVENTS must be a positive integer, not '$N'"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || die "PostgreSQL is not installed: apt-get install postgresql"

source "$ROOT/benches/common.sh"
build_release --bins

DIR=$(mktemp -d "${TMPDIR:-/tmp}/slipstream-pg-bench.XXXXXX")
chmod 755 "$DIR"
cleanup() {
    bash "$ROOT/.ci/postgres.sh" stop "$DIR/pg" >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT

say "== PostgreSQL"
URL=$(bash "$ROOT/.ci/postgres.sh" start "$DIR/pg")
say "started on ${URL##*@}"

# The demo's four SLIs, one-second windows: about 4 window and 4 slo records
# per second of event time. 20 events/s makes EVENTS/20 seconds of it.
slis=$(awk '
    /^\[\[sli\]\]/ { on = 1 }
    /^\[/ && !/^\[\[sli\]\]/ && !/^\[sli\./ { if (on) exit }
    on { print }
' config/demo.toml)
cat >"$DIR/bench.toml" <<EOF
[decode.fields]
latency = "latency_ms"
[window]
size = "1s"
$slis
[[sink]]
type = "postgres"
url = "$URL"
EOF

say "== slipstream gen --count $N --rate 20"
"$BIN" gen --count "$N" --rate 20 --seed 11 \
    --incident kind=errors,start=2h,duration=30m,rate=0.2,service=checkout \
    --out "$DIR/logs.jsonl"

summary_line() { grep -E "^Wrote [0-9]+ records to $1" "$2" | tail -n 1; }

say "== backfill to a JSONL file (baseline)"
"$BIN" backfill -c "$DIR/bench.toml" --no-progress --output "$DIR/out.jsonl" "$DIR/logs.jsonl" 2>"$DIR/file.log"
file_line=$(summary_line "file:" "$DIR/file.log")

say "== backfill to PostgreSQL, twice (the second run upserts the same keys)"
"$BIN" backfill -c "$DIR/bench.toml" --no-progress "$DIR/logs.jsonl" 2>"$DIR/pg1.log"
"$BIN" backfill -c "$DIR/bench.toml" --no-progress "$DIR/logs.jsonl" 2>"$DIR/pg2.log"
pg1=$(summary_line "postgres:" "$DIR/pg1.log")
pg2=$(summary_line "postgres:" "$DIR/pg2.log")

rate() { # "Wrote N records to X in T s." -> N / T
    awk '{ n = $2; t = $(NF - 1); printf "%d records in %.2f s: %.0f rows/s", n, t, n / t }' <<<"$1"
}
echo
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "file (baseline):        $(rate "$file_line")"
echo "postgres, empty tables: $(rate "$pg1")"
echo "postgres, upserts:      $(rate "$pg2")"
awk -v f="$file_line" -v p="$pg1" 'BEGIN {
    split(f, a, " "); split(p, b, " ");
    tf = a[length(a) - 1]; tp = b[length(b) - 1];
    printf "postgres / file write time: %.1fx\n", tp / tf
}'

if [[ ${KAFKA:-} == 1 ]]; then
    say "== the stream job's event rate without and with a postgres sink"
    bash benches/kafka_throughput.sh "$N" 2>&1 | tail -n 4
    EXTRA_SINK_TOML=$'[[sink]]\ntype = "postgres"\nurl = "'"$URL"$'"' \
        bash benches/kafka_throughput.sh "$N" 2>&1 | tail -n 4
fi

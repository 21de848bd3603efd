#!/usr/bin/env bash
# Scale-out: the same topic consumed by one `slipstream run --role ingest`
# instance pinned to one core, then by two pinned to a core each, with a
# `--role rollup` instance merging their partials. Prints the ingest rate of
# each, the scaling factor and the rollup's CPU per million events. See
# benches/README.md.
#
#   bash benches/scale_out.sh [N]        # N events, default 1000000
#   CORES="0 1" bash benches/scale_out.sh [N]
#
# CORES names the two cores for the two ingest instances (default "0 1");
# the single instance gets the first. The broker, the producer and the
# rollup are not pinned. On a 2-core machine the broker and the rollup share
# the ingest instances' cores, so the factor understates what separate
# machines give; the script prints the broker's and rollup's CPU to show it.
#
# Runnable from any directory. Builds with `cargo build --release --bins`,
# works in a temporary directory removed at exit, and stops every process it
# started at exit.
set -euo pipefail

say() { printf '%s\n' "$*" >&2; }
die() { say "scale_out.sh: $*"; exit 2; }

N=1000000
read -r -a CORE <<<"${CORES:-0 1}"
[[ ${#CORE[@]} -eq 2 ]] || die "CORES names two cores, not '${CORES:-}'"
if [[ $# -gt 0 ]]; then
    case "$1" in -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
    [[ $1 =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, not '$1'"
    N=$1
fi
[[ $N -ge 10000 ]] || die "N must be at least 10000"
command -v taskset >/dev/null || die "taskset (util-linux) is required"
[[ -n ${EPOCHREALTIME:-} ]] || die "bash >= 5 is required (EPOCHREALTIME)"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source "$ROOT/benches/common.sh"
build_release --bins

DIR=$(mktemp -d "${TMPDIR:-/tmp}/slipstream-scale-bench.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The embedded broker keeps ~5 MiB per partition: enough partitions for N
# events of ~370 bytes, and an even number so two instances split them.
PARTITIONS=$(( (N * 430 / 4194304 + 2) / 2 * 2 ))
(( PARTITIONS >= 8 )) || PARTITIONS=8
say "== slipstream dev-broker --partitions $PARTITIONS"
"$BIN" dev-broker --topic in --partitions "$PARTITIONS" >"$DIR/broker.out" 2>"$DIR/broker.err" </dev/null &
BROKER=$!
PIDS+=("$BROKER")
for _ in $(seq 1 100); do
    [[ $(head -n 1 "$DIR/broker.out" 2>/dev/null) == bootstrap=* ]] && break
    sleep 0.1
done
BROKERS=$(head -n 1 "$DIR/broker.out")
BROKERS=${BROKERS#bootstrap=}
[[ -n $BROKERS ]] || die "dev-broker printed no bootstrap= line"

say "== slipstream gen --count $N → topic in"
"$BIN" gen --count "$N" --rate 5000 --brokers "$BROKERS" --topic in >/dev/null 2>"$DIR/gen.err" \
    || { tail -n 20 "$DIR/gen.err" >&2; die "gen could not fill the topic"; }

slis=$(awk '
    /^\[\[sli\]\]/ { on = 1 }
    /^\[/ && !/^\[\[sli\]\]/ && !/^\[sli\./ { if (on) exit }
    on { print }
' config/demo.toml)

config() { # config NAME GROUP
    cat >"$DIR/$1.toml" <<EOF
[source.kafka]
brokers = "$BROKERS"
topics = ["in"]
group_id = "$2"
# The default [window]: 1m windows, 5s out of orderness, 1m lateness.
[decode.fields]
latency = "latency_ms"
$slis
[[sink]]
type = "file"
path = "$DIR/$2.records.jsonl"
[http]
listen = "127.0.0.1:0"
EOF
}

port_of() { # the port a job logged (it listens on port 0)
    local log=$1 i
    for i in $(seq 1 300); do
        if [[ $(grep -o '"addr":"[^"]*"' "$log" 2>/dev/null | head -n 1) =~ :([0-9]+)\"$ ]]; then
            echo "${BASH_REMATCH[1]}"; return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$log" >&2
    die "no /metrics address in $log"
}

# Prints "consumed first last" from /metrics (sum over partitions, and the
# wall-clock seconds of the first and last message handled).
scrape() {
    local fd line sum=0 first=0 last=0
    { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || { echo "0 0 0"; return; }
    printf 'GET /metrics HTTP/1.0\r\n\r\n' >&"$fd"
    while IFS= read -r -u "$fd" line; do
        line=${line%$'\r'}
        case $line in
            'slipstream_events_consumed_total{'*) sum=$((sum + ${line##* })) ;;
            'slipstream_first_message_seconds '*) first=${line##* } ;;
            'slipstream_last_message_seconds '*) last=${line##* } ;;
        esac
    done
    exec {fd}>&-
    echo "$sum $first $last"
}

cpu_of() { # user + system seconds of a process
    local f
    read -r -a f <<<"$(cut -d')' -f2- "/proc/$1/stat")"
    awk -v t=$((f[11] + f[12])) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

# run LABEL CORE... : ingest instances pinned to the cores, one rollup.
RATE=()
run() {
    local label=$1 group="bench-$1-$$" rollup rport ports=() pids=() i c s total first last
    shift
    config "$label" "$group"
    "$BIN" run -c "$DIR/$label.toml" --role rollup --log-format json >/dev/null 2>"$DIR/$label.rollup.log" &
    rollup=$!
    PIDS+=("$rollup")
    i=0
    for c in "$@"; do
        taskset -c "$c" "$BIN" run -c "$DIR/$label.toml" --role ingest --log-format json \
            >/dev/null 2>"$DIR/$label.ingest.$i.log" &
        pids+=("$!")
        PIDS+=("$!")
        i=$((i + 1))
    done
    for i in "${!pids[@]}"; do ports+=("$(port_of "$DIR/$label.ingest.$i.log")"); done
    rport=$(port_of "$DIR/$label.rollup.log")
    local started=$SECONDS
    while :; do
        total=0 first=0 last=0
        for p in "${ports[@]}"; do
            read -r s f l <<<"$(scrape "$p")"
            total=$((total + s))
            if [[ $f != 0 ]] && { [[ $first == 0 ]] || awk -v a="$f" -v b="$first" 'BEGIN { exit !(a < b) }'; }; then first=$f; fi
            if awk -v a="$l" -v b="$last" 'BEGIN { exit !(a > b) }'; then last=$l; fi
        done
        (( total >= N )) && break
        (( SECONDS - started < 300 )) || die "$label: only $total of $N events consumed after 300 s"
        sleep 0.2
    done
    # Let the rollup merge what the ingest instances sent, then read its CPU.
    sleep 3
    local rollup_cpu broker_cpu ingest_cpu=""
    rollup_cpu=$(cpu_of "$rollup")
    broker_cpu=$(cpu_of "$BROKER")
    for p in "${pids[@]}"; do ingest_cpu+="$(cpu_of "$p")s "; done
    local rate
    rate=$(awk -v n="$N" -v a="$first" -v b="$last" 'BEGIN { printf "%.0f", n / (b - a) }')
    RATE+=("$rate")
    say "   $label: $N events in $(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.2f", b - a }') s = $rate ev/s; ingest CPU ${ingest_cpu}; rollup CPU ${rollup_cpu}s = $(awk -v c="$rollup_cpu" -v n="$N" 'BEGIN { printf "%.2f", c / (n / 1e6) }') s per million events; broker CPU so far ${broker_cpu}s"
    for p in "${pids[@]}" "$rollup"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}" "$rollup"; do wait "$p" 2>/dev/null || true; done
}

say "== one ingest instance on core ${CORE[0]}"
run one "${CORE[0]}"
say "== two ingest instances on cores ${CORE[0]} and ${CORE[1]}"
run two "${CORE[0]}" "${CORE[1]}"
factor=$(awk -v a="${RATE[0]}" -v b="${RATE[1]}" 'BEGIN { printf "%.2f", b / a }')
say ""
echo "scale-out on $N events, $PARTITIONS partitions, nproc=$(nproc): one ingest ${RATE[0]} ev/s, two ingest ${RATE[1]} ev/s, factor ${factor}x"

#!/usr/bin/env bash
# Kafka consume throughput: `slipstream run` against a bare rust-rdkafka
# consumer (examples/bare_consumer.rs) on the same topic of the embedded
# broker. See benches/README.md.
#
#   bash benches/kafka_throughput.sh [N]        # N events, default 2000000
#   PARTITIONS=P bash benches/kafka_throughput.sh [N]
#   LIBRDKAFKA='K=V ...' bash benches/kafka_throughput.sh [N]
#   EXTRA_SINK_TOML='[[sink]] ...' bash benches/kafka_throughput.sh [N]
#   RUNS=R bash benches/kafka_throughput.sh [N]  # R bare/job pairs, default 3
#
# The embedded broker keeps only the newest ~5 MiB of each partition, so the
# topic gets enough partitions to hold all N events (at least 4; about 20 for
# 200000 events, 200 for 2000000) unless PARTITIONS is set. LIBRDKAFKA gives
# extra librdkafka settings to both consumers (e.g. fetch.queue.backoff.ms=10).
#
# Runnable from any directory. Builds with `cargo build --release --examples
# --bins`, works in a temporary directory that is removed at exit, and stops
# the broker and any job it started at exit.
set -euo pipefail

usage() {
    sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

say() { printf '%s\n' "$*" >&2; }
die() { say "kafka_throughput.sh: $*"; exit 2; }

N=2000000
RUNS=${RUNS:-3}
TOPIC=request-logs
PARTITIONS=${PARTITIONS:-}
[[ -z $PARTITIONS || $PARTITIONS =~ ^[1-9][0-9]*$ ]] || die "PARTITIONS must be a positive integer, not '$PARTITIONS'"
read -r -a EXTRA <<<"${LIBRDKAFKA:-}"
BARE_EXTRA=()
JOB_EXTRA=""
for kv in "${EXTRA[@]}"; do
    [[ $kv =~ ^([A-Za-z0-9._-]+)=([^\"\\]*)$ ]] || die "LIBRDKAFKA takes KEY=VALUE words, not '$kv'"
    BARE_EXTRA+=(--set "$kv")
    JOB_EXTRA+="\"${BASH_REMATCH[1]}\" = \"${BASH_REMATCH[2]}\""$'\n'
done
if [[ $# -gt 0 ]]; then
    case "$1" in
        -h|--help) usage; exit 0 ;;
    esac
    [[ $# -eq 1 ]] || { usage >&2; exit 2; }
    [[ $1 =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, not '$1'"
    N=$1
fi
[[ $N -ge 1000 ]] || die "N must be at least 1000 (a shorter run measures nothing)"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DEMO="$ROOT/config/demo.toml"
[[ -f $DEMO ]] || die "missing $DEMO (its [[sli]] sections are the job's SLIs)"
command -v cargo >/dev/null || die "cargo is required"
command -v pgrep >/dev/null || die "pgrep (procps) is required"
[[ -n ${EPOCHREALTIME:-} ]] || die "bash >= 5 is required (EPOCHREALTIME)"

# GNU time for the peak RSS ("Maximum resident set size").
[[ -x /usr/bin/time ]] || die "GNU time is required at /usr/bin/time (Debian package 'time')"
time_report=$(/usr/bin/time -v true 2>&1 || true)
[[ $time_report == *"Maximum resident set size"* ]] \
    || die "/usr/bin/time is not GNU time (no -v report)"

source "$ROOT/benches/common.sh"
build_release --examples --bins
BARE="$TARGET/release/examples/bare_consumer"
[[ -x $BARE ]] || die "no example binary at $BARE after the build"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/slipstream-kafka-bench.XXXXXX")
BROKER_PID=
JOB_PID=     # the /usr/bin/time wrapping `slipstream run`
cleanup() {
    local pid
    if [[ -n $JOB_PID ]] && kill -0 "$JOB_PID" 2>/dev/null; then
        for pid in $(pgrep -P "$JOB_PID" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
        kill -KILL "$JOB_PID" 2>/dev/null || true
    fi
    if [[ -n $BROKER_PID ]]; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT
# A signal must still run the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

load() { uptime | sed 's/.*load average/load average/'; }

# User + system CPU seconds from a GNU time report.
cpu_seconds() {
    awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ { s += $2 } END { printf "%.1f", s }' "$1"
}

# --------------------------------------------------------- partition count
# librdkafka's mock cluster (what `dev-broker` runs) keeps at most 5 MiB of
# record batches per partition and silently drops the oldest beyond that
# (rdkafka_mock.c, max_size; not configurable). Size the topic so every
# partition stays under 4 MiB: the event size is measured on 20000 generated
# lines, plus 15% for the record and batch framing (measured: ~406 bytes
# stored per ~363-byte line).
line_bytes=$("$BIN" gen --count 20000 --rate 5000 --out - | wc -c) || die "slipstream gen --out - failed"
line_bytes=$(( line_bytes / 20000 ))
min_partitions=$(( (N * line_bytes * 115 / 100 + 4194303) / 4194304 ))
(( min_partitions >= 4 )) || min_partitions=4
if [[ -z $PARTITIONS ]]; then
    PARTITIONS=$min_partitions
elif (( PARTITIONS < min_partitions )); then
    say "warning: PARTITIONS=$PARTITIONS is likely too few to hold $N events of ~$line_bytes bytes in the embedded broker (needs about $min_partitions); the consumers check and fail if events were dropped"
fi
say "== $N events of ~$line_bytes bytes: $PARTITIONS partitions"
[[ -z $JOB_EXTRA ]] || say "== extra librdkafka settings for both consumers: ${EXTRA[*]}"

# ---------------------------------------------------------------- the broker
say "== slipstream dev-broker --topic $TOPIC --partitions $PARTITIONS"
"$BIN" dev-broker --topic "$TOPIC" --partitions "$PARTITIONS" \
    >"$DIR/broker.out" 2>"$DIR/broker.err" </dev/null &
BROKER_PID=$!
BROKERS=
for _ in $(seq 1 100); do
    if [[ -s $DIR/broker.out ]]; then
        first_line=$(head -n 1 "$DIR/broker.out")
        # Only a complete first line (ending in a newline) counts.
        if [[ $first_line == bootstrap=* && $(wc -l <"$DIR/broker.out") -ge 1 ]]; then
            BROKERS=${first_line#bootstrap=}
            break
        fi
    fi
    kill -0 "$BROKER_PID" 2>/dev/null || { cat "$DIR/broker.err" >&2; die "dev-broker exited before printing bootstrap="; }
    sleep 0.1
done
[[ -n $BROKERS ]] || { cat "$DIR/broker.err" >&2; die "dev-broker printed no bootstrap= line within 10 s"; }
say "   bootstrap=$BROKERS"

# ---------------------------------------------------------- fill the topic
say "== slipstream gen --count $N --rate 5000 --brokers $BROKERS --topic $TOPIC"
t0=$EPOCHREALTIME
"$BIN" gen --count "$N" --rate 5000 --brokers "$BROKERS" --topic "$TOPIC" \
    >"$DIR/gen.out" 2>"$DIR/gen.err" \
    || { tail -n 20 "$DIR/gen.err" >&2; die "slipstream gen could not fill the topic"; }
t1=$EPOCHREALTIME
say "   produced $N events in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

# ------------------------------------------------------ the bare consumer
# One run: prints its rate, records its peak RSS in BARE_RSS[run].
declare -a BARE_RATE BARE_RSS
bare_run() {
    local run=$1 out line
    out="$DIR/bare.$run"
    if ! /usr/bin/time -v -o "$out.time" "$BARE" --brokers "$BROKERS" --topic "$TOPIC" \
            --count "$N" --group "bench-bare-$run-$$" ${BARE_EXTRA[@]+"${BARE_EXTRA[@]}"} >"$out.out" 2>"$out.err"; then
        tail -n 20 "$out.err" >&2
        die "bare consumer run $run failed"
    fi
    line=$(grep '^consumed=' "$out.out" || true)
    [[ $line =~ rate=([0-9.]+) ]] || die "bare consumer run $run printed no rate: $(cat "$out.out")"
    BARE_RATE[run]=${BASH_REMATCH[1]}
    BARE_RSS[run]=$(awk '/Maximum resident set size/ { print $NF }' "$out.time")
    say "   bare run $run: $line   CPU $(cpu_seconds "$out.time") s   peak RSS $((BARE_RSS[run] / 1024)) MiB   ($(load))"
}

# ------------------------------------------------------------ slipstream run
# The four SLIs of config/demo.toml, copied from the first [[sli]] to the
# first section that is neither an SLI nor its objective.
slis=$(awk '
    /^\[\[sli\]\]/ { on = 1 }
    /^\[/ && !/^\[\[sli\]\]/ && !/^\[sli\./ { if (on) exit }
    on { print }
' "$DEMO")
[[ $(grep -c '^\[\[sli\]\]' <<<"$slis") -ge 1 ]] || die "found no [[sli]] section in $DEMO"

write_config() {
    local run=$1
    cat >"$DIR/job.$run.toml" <<EOF
# Generated by benches/kafka_throughput.sh.
[source.kafka]
brokers = "$BROKERS"
topics = ["$TOPIC"]
group_id = "bench-slipstream-$run-$$"
${JOB_EXTRA:+[source.kafka.librdkafka]
$JOB_EXTRA}

[decode]
format = "json"
max_event_bytes = 1048576

[decode.fields]
timestamp = "timestamp"
timestamp_format = "auto"
status = "status"
latency = "latency_ms"
latency_unit = "ms"

[window]
size = "1m"
max_out_of_orderness = "5s"
allowed_lateness = "1m"
idle_timeout = "30s"

$slis

[[sink]]
type = "file"
path = "$DIR/records.$run.jsonl"
${EXTRA_SINK_TOML:-}

[http]
listen = "127.0.0.1:0"
EOF
}

# Sum of slipstream_events_consumed_total over partitions, read from /metrics
# with bash's /dev/tcp (no process per scrape). Sets SCRAPED; fails when the
# endpoint cannot be reached.
SCRAPED=0
FIRST_AT=0
LAST_AT=0
scrape() {
    local fd line sum=0
    { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    printf 'GET /metrics HTTP/1.0\r\n\r\n' >&"$fd"
    while IFS= read -r -u "$fd" line; do
        line=${line%$'\r'}
        if [[ $line == 'slipstream_events_consumed_total{'* ]]; then
            sum=$((sum + ${line##* }))
        elif [[ $line == 'slipstream_first_message_seconds '* ]]; then
            FIRST_AT=${line##* }
        elif [[ $line == 'slipstream_last_message_seconds '* ]]; then
            LAST_AT=${line##* }
        fi
    done
    exec {fd}>&-
    SCRAPED=$sum
}

# CPU seconds (user + system) per thread of a process, by thread name.
thread_cpu() {
    local pid=$1 tid stat comm ticks hz
    hz=$(getconf CLK_TCK)
    for tid in /proc/"$pid"/task/*; do
        stat=$(cat "$tid/stat" 2>/dev/null) || continue
        comm=${stat#*(}; comm=${comm%)*}
        # Fields after "(comm) ": state is 1st, utime 12th, stime 13th.
        read -r -a f <<<"${stat##*) }"
        ticks=$((f[11] + f[12]))
        printf '%s\t%s\n' "$comm" "$ticks"
    done | awk -F'\t' -v hz="$hz" '{ s[$1] += $2 } END { for (k in s) printf "%s=%.1fs\n", k, s[k] / hz }' \
         | sort -t= -k2 -rn | paste -sd' ' -
}

declare -a JOB_RATE JOB_RSS JOB_SECONDS
job_run() {
    local run=$1 log port="" child="" started t_first=0 c_first=0 t_last_pub=0 c_last_pub=0 \
          prev=0 t now status rss cpu broker_cpu
    write_config "$run"
    log="$DIR/job.$run.log"
    /usr/bin/time -v -o "$DIR/job.$run.time" "$BIN" run -c "$DIR/job.$run.toml" --log-format json \
        >"$DIR/job.$run.out" 2>"$log" &
    JOB_PID=$!
    started=$SECONDS
    # The job listens on port 0: read the bound address from its log.
    while [[ -z $port ]]; do
        if ! kill -0 "$JOB_PID" 2>/dev/null; then
            tail -n 20 "$log" >&2; die "slipstream run (run $run) exited early"
        fi
        (( SECONDS - started < 30 )) || { tail -n 20 "$log" >&2; die "slipstream run (run $run) did not serve /metrics within 30 s"; }
        if [[ $(grep -o '"addr":"[^"]*"' "$log" 2>/dev/null | head -n 1) =~ :([0-9]+)\"$ ]]; then
            port=${BASH_REMATCH[1]}
        else
            sleep 0.05
        fi
    done
    child=$(pgrep -P "$JOB_PID" || true)
    [[ -n $child ]] || die "cannot find the slipstream process under /usr/bin/time"
    # Scrape every 100 ms until the sum reaches N. The job publishes its
    # metrics about once a second; a scrape whose sum changed saw a publish.
    while :; do
        now=$EPOCHREALTIME
        if scrape "$port"; then
            if (( SCRAPED > 0 && c_first == 0 )); then
                t_first=$now c_first=$SCRAPED
                say "   run $run: first consumed events seen on /metrics: $SCRAPED"
            fi
            if (( SCRAPED != prev )); then
                prev=$SCRAPED
                if (( SCRAPED < N )); then t_last_pub=$now c_last_pub=$SCRAPED; fi
                started=$SECONDS
            fi
            if (( SCRAPED >= N )); then t=$now; break; fi
        fi
        kill -0 "$child" 2>/dev/null || { tail -n 20 "$log" >&2; die "slipstream run (run $run) exited while consuming"; }
        (( SECONDS - started < 60 )) || { tail -n 20 "$log" >&2; die "slipstream run (run $run): no progress for 60 s at $SCRAPED of $N events"; }
        sleep 0.1
    done
    (( SCRAPED == N )) || say "   warning: run $run consumed $SCRAPED events, more than N=$N (replays after a rebalance?)"
    cpu=$(thread_cpu "$child")
    broker_cpu=$(thread_cpu "$BROKER_PID")
    kill -TERM "$child"
    status=0
    wait "$JOB_PID" || status=$?
    JOB_PID=
    (( status == 0 )) || { tail -n 20 "$log" >&2; die "slipstream run (run $run) exited with status $status after SIGTERM"; }
    # The job stamps when it began handling the first message and finished
    # the last one (slipstream_first/last_message_seconds): the rate over
    # exactly the N messages, whatever the /metrics publishing interval.
    JOB_RATE[run]=$(awk -v n="$N" -v a="$FIRST_AT" -v b="$LAST_AT" 'BEGIN { printf "%.0f", n / (b - a) }')
    JOB_SECONDS[run]=$(awk -v a="$FIRST_AT" -v b="$LAST_AT" 'BEGIN { printf "%.2f", b - a }')
    rss=$(awk '/Maximum resident set size/ { print $NF }' "$DIR/job.$run.time")
    JOB_RSS[run]=$rss
    say "   slipstream run $run: $N events in ${JOB_SECONDS[run]} s = ${JOB_RATE[run]} ev/s   peak RSS $((rss / 1024)) MiB   ($(load))"
    say "     job CPU $(cpu_seconds "$DIR/job.$run.time") s in all; by thread when N was reached: $cpu"
    say "     broker threads CPU (cumulative since start): $broker_cpu"
}

# Interleaved, so each job run has a bare run right before it: on a shared
# machine the speed drifts over minutes, and a pair sees the same conditions.
for run in $(seq 1 "$RUNS"); do
    bare_run "$run"
    job_run "$run"
done

# ---------------------------------------------------------------- summary
best() { printf '%s\n' "$@" | sort -n | tail -n 1; }
max_rss() { printf '%s\n' "$@" | sort -n | tail -n 1; }
B=$(best "${BARE_RATE[@]}")
S=$(best "${JOB_RATE[@]}")
R=$(awk -v s="$S" -v b="$B" 'BEGIN { printf "%.2f", s / b }')
PAIRS=()
for run in $(seq 1 "$RUNS"); do
    PAIRS+=("$(awk -v s="${JOB_RATE[run]}" -v b="${BARE_RATE[run]}" 'BEGIN { printf "%.2f", s / b }')")
done
MEDIAN=$(printf '%s\n' "${PAIRS[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : sprintf("%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
NPROC=$(nproc)
echo
echo "events:               $N (embedded broker, $PARTITIONS partitions), nproc=$NPROC"
echo "bare rdkafka:         $B ev/s (best of $RUNS: ${BARE_RATE[*]}), peak RSS $(( $(max_rss "${BARE_RSS[@]}") / 1024 )) MiB"
echo "slipstream run:       $S ev/s (best of $RUNS: ${JOB_RATE[*]}), peak RSS $(( $(max_rss "${JOB_RSS[@]}") / 1024 )) MiB"
echo "ratio slipstream/bare: $R best against best; per interleaved pair: ${PAIRS[*]}, median $MEDIAN (goal: >= 0.8)"
[[ -z $JOB_EXTRA ]] || echo "extra librdkafka:     ${EXTRA[*]}"
echo "$(load)"
echo
echo "Kafka consume on $N events (embedded broker, $PARTITIONS partitions)${JOB_EXTRA:+ with ${EXTRA[*]}}, nproc=$NPROC: bare rdkafka $B ev/s, slipstream run $S ev/s, ratio $R (pairs ${PAIRS[*]}, median $MEDIAN)"

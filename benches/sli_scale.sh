#!/usr/bin/env bash
# Backfill on one thread as per-route SLIs are added: 10, 100, 1,000 and
# 10,000 SLIs, each `http.route == "/r/K"`, over generated requests whose
# routes are spread so that every line matches exactly one of them; then one
# SLI grouped by `http.route` over 1,000 routes against the 1,000 written-out
# SLIs. Lines per second (median of RUNS interleaved rounds, after one
# unmeasured round) and each as a ratio of the 10-SLI run measured in the same
# round (the median of the rounds' ratios). See benches/README.md.
#
#   RUNS=R SLIS="10 100 1000 10000" bash benches/sli_scale.sh [LINES]
#                                           # default 1000000 lines, R=3
#
# Runnable from any directory. Builds with `cargo build --release`, works in a
# temporary directory that is removed at exit (about 300 MB a SLI count).
set -euo pipefail

say() { printf '%s\n' "$*" >&2; }
die() { say "sli_scale.sh: $*"; exit 2; }

LINES=${1:-1000000}
RUNS=${RUNS:-3}
SLIS=${SLIS:-10 100 1000 10000}
GROUPED=1000
[[ " $SLIS " == *" 10 "* ]] || die "SLIS must include 10, the baseline"
command -v bc >/dev/null || die "bc is required (apt-get install bc)"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=benches/common.sh
source "$ROOT/benches/common.sh"
positive LINES "$LINES"
positive RUNS "$RUNS"
for n in $SLIS; do positive "each of SLIS" "$n"; done
build_release

enter_workdir

say "== $LINES generated requests"
"$BIN" gen --count "$LINES" --rate 2000 --seed 7 --out g.jsonl 2>/dev/null

# routes.N.jsonl: line K's route is /r/(K mod N); N.toml: N SLIs, one a route.
for n in $SLIS $GROUPED; do
    [[ -f routes.$n.jsonl ]] && continue
    awk -v n="$n" '{ sub(/"route":"[^"]*"/, "\"route\":\"/r/" (NR - 1) % n "\""); print }' \
        g.jsonl > "routes.$n.jsonl"
    {
        printf '[decode.fields]\nlatency = "latency_ms"\n'
        for ((k = 0; k < n; k++)); do
            printf '[[sli]]\nname = "r%d"\nfilter = '"'"'http.route == "/r/%d"'"'"'\ngood = '"'"'status < 500 && latency <= 300ms'"'"'\n' "$k" "$k"
        done
    } > "$n.toml"
done
cat > grouped.toml <<'TOML'
[decode.fields]
latency = "latency_ms"
[[sli]]
name = "routes"
good = 'status < 500 && latency <= 300ms'
group_by = ["http.route"]
TOML

run() { # NAME CONFIG INPUT -> lines per second; checks every line was counted once
    local start end total
    start=$(date +%s.%N)
    "$BIN" backfill --threads 1 -c "$2" --output "out.$1.jsonl" "$3" 2> "summary.$1.txt"
    end=$(date +%s.%N)
    # Every line matches exactly one route: the window records' totals sum
    # to the lines (counted here, not by the summary).
    total=$(grep -o '"total":[0-9]*' "out.$1.jsonl" | awk -F: '{ s += $2 } END { print s + 0 }')
    [[ $total == "$LINES" ]] || die "$1: the windows count $total events, not $LINES"
    echo "$LINES / ($end - $start)" | bc -l
}

# One round unmeasured: the binary and the inputs paged in for every one.
for n in $SLIS; do run "$n" "$n.toml" "routes.$n.jsonl" > /dev/null; done
run grouped grouped.toml "routes.$GROUPED.jsonl" > /dev/null

# Each ratio is taken within its round, where the runs compared are seconds
# apart, and the median of the rounds' ratios reported: on a shared machine
# the speed of whole rounds drifts more than the runs of one round differ.
declare -A rate ratio
for ((r = 1; r <= RUNS; r++)); do
    declare -A now=()
    for n in $SLIS; do
        now[$n]=$(run "$n" "$n.toml" "routes.$n.jsonl")
    done
    now[grouped]=$(run grouped grouped.toml "routes.$GROUPED.jsonl")
    now[written]=$(run written "$GROUPED.toml" "routes.$GROUPED.jsonl")
    for k in $SLIS grouped written; do rate[$k]+="${now[$k]} "; done
    for n in $SLIS; do ratio[$n]+="$(echo "${now[$n]} / ${now[10]}" | bc -l) "; done
    ratio[grouped]+="$(echo "${now[grouped]} / ${now[written]}" | bc -l) "
    say "round $r: $(for k in $SLIS grouped written; do printf '%s %.0f  ' "$k" "${now[$k]}"; done)"
done

printf 'lines/s on one thread, median of %s rounds (%s lines), and the median of the rounds'"'"' ratios:\n' "$RUNS" "$LINES"
for n in $SLIS; do
    # shellcheck disable=SC2086
    printf '  %6s per-route SLIs: %9.0f  (%.2fx of 10 SLIs)\n' "$n" "$(median ${rate[$n]})" "$(median ${ratio[$n]})"
done
# shellcheck disable=SC2086
printf '  one SLI grouped by route over %s routes: %.0f, %s written-out SLIs: %.0f (grouped %.2fx)\n' \
    "$GROUPED" "$(median ${rate[grouped]})" "$GROUPED" "$(median ${rate[written]})" "$(median ${ratio[grouped]})"

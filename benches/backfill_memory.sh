#!/usr/bin/env bash
# Peak RSS and wall time of `slipstream backfill` over 1, 30, 90 and 365 days
# of generated logs, with 4 SLIs (config/demo.toml) and 20 (those plus 16 per
# route), the lines in time order and shuffled. With BASE_BIN (a slipstream
# binary built from another commit), each run is also made with it and the
# ratios printed; every output is compared with the ordered run's (and the
# baseline's), byte for byte. See benches/README.md.
#
#   bash benches/backfill_memory.sh
#   DAYS="1 30 90" SHUFFLED="1 30" RATE=0.5 BASE_BIN=/path/to/old/slipstream \
#       bash benches/backfill_memory.sh
#
# DAYS: the spans; SHUFFLED: the spans also run shuffled (shuffling is an
# external sort of the whole file); RATE: events per second of event time;
# BASE_DAYS: the spans also run with BASE_BIN (default 1 30 90: a binary that
# holds every window may need more memory than the machine has beyond);
# WORK: where inputs are kept between runs (default: a temporary directory
# removed at exit); EXTRA: more backfill arguments (`--memory-limit 128MiB`);
# SLIS: the SLI counts to run (default 4 20; a year of 20 SLIs writes ~5 GB
# of records per run).
set -euo pipefail

say() { printf '%s\n' "$*" >&2; }
die() { say "backfill_memory.sh: $*"; exit 2; }

DAYS=${DAYS:-1 30 90 365}
SHUFFLED=${SHUFFLED:-1 30 90}
BASE_DAYS=${BASE_DAYS:-1 30 90}
RATE=${RATE:-0.5}
EXTRA=${EXTRA:-}
SLIS=${SLIS:-4 20}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=benches/common.sh
source "$ROOT/benches/common.sh"
# BIN: a slipstream binary to measure instead of building one.
if [[ -n ${BIN:-} ]]; then
    [[ -x $BIN ]] || die "BIN=$BIN is not an executable"
else
    build_release
fi
[[ -z ${BASE_BIN:-} || -x $BASE_BIN ]] || die "BASE_BIN=$BASE_BIN is not an executable"

if [[ -n ${WORK:-} ]]; then
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi
cd "$WORK"

# 20 SLIs: the demo's four, and availability and latency of eight routes.
cp "$ROOT/config/demo.toml" slis4.toml
{
    cat "$ROOT/config/demo.toml"
    for route in /api/search /api/search/suggest /api/catalog/products /api/auth/token \
        /api/auth/login /api/checkout/cart /api/checkout /api/checkout/payment; do
        name=${route#/api/}
        name=${name//\//-}
        printf '\n[[sli]]\nname = "route-%s-availability"\nfilter = '"'"'http.route == "%s"'"'"'\ngood = '"'"'status < 500'"'"'\n' "$name" "$route"
        printf '\n[[sli]]\nname = "route-%s-latency"\nfilter = '"'"'http.route == "%s"'"'"'\ngood = '"'"'latency <= 250ms'"'"'\n' "$name" "$route"
    done
} > slis20.toml
[[ $(grep -c '^\[\[sli\]\]' slis20.toml) == 20 ]] || die "slis20.toml does not hold 20 SLIs"

input() { # DAYS ORDER -> path of the input, generated once
    local days=$1 order=$2 f="d$1.jsonl"
    if [[ ! -s $f ]]; then
        local count
        count=$(awk -v d="$days" -v r="$RATE" 'BEGIN { printf "%d", d * 86400 * r }')
        say "== generating $days day(s): $count events"
        "$BIN" gen --count "$count" --rate "$RATE" --seed 7 --out "$f.part" 2>/dev/null
        mv "$f.part" "$f"
    fi
    if [[ $order == shuffled ]]; then
        local s="d$1.shuffled.jsonl"
        if [[ ! -s $s ]]; then
            say "== shuffling $days day(s)"
            awk 'BEGIN { srand(11) } { printf "%09d\t%s\n", int(rand() * 1e9), $0 }' "$f" |
                LC_ALL=C sort -S 2G -T . -k1,1 | cut -f2- > "$s.part"
            mv "$s.part" "$s"
        fi
        f=$s
    fi
    printf '%s\n' "$f"
}

measure() { # BIN CONFIG INPUT OUT -> "seconds peak_kib"; the summary in last.err
    local bin=$1
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %M' -o time.txt "$bin" backfill -c "$2" --no-progress $EXTRA \
        --output "$4" "$3" 2> last.err || { cat last.err >&2; die "backfill failed"; }
    cat time.txt
}

printf '| days | SLIs | order | MB in | time s | peak RSS MiB | spilled |'
[[ -n ${BASE_BIN:-} ]] && printf ' base time s | base RSS MiB | time ratio | RSS ratio |'
printf '\n|---|---|---|---|---|---|---|'
[[ -n ${BASE_BIN:-} ]] && printf -- '---|---|---|---|'
printf '\n'
for days in $DAYS; do
    for slis in $SLIS; do
        for order in ordered shuffled; do
            [[ $order == ordered || " $SHUFFLED " == *" $days "* ]] || continue
            in=$(input "$days" "$order")
            read -r secs kib < <(measure "$BIN" "slis$slis.toml" "$in" out.jsonl)
            spilled=$(sed -n 's/^Spilled \([0-9.]* MB\).* in \([0-9]*\) run.*/\1 in \2 runs/p' last.err)
            if [[ $order == ordered ]]; then
                mv out.jsonl "ordered$slis.jsonl"
            else
                cmp -s out.jsonl "ordered$slis.jsonl" || die "$days days, $slis SLIs: shuffled input gave other records"
            fi
            mb=$(du -m "$in" | cut -f1)
            printf '| %s | %s | %s | %s | %s | %s | %s |' "$days" "$slis" "$order" "$mb" "$secs" \
                "$((kib / 1024))" "${spilled:-none}"
            if [[ -n ${BASE_BIN:-} && " $BASE_DAYS " == *" $days "* ]]; then
                read -r bsecs bkib < <(measure "$BASE_BIN" "slis$slis.toml" "$in" base.jsonl)
                cmp -s base.jsonl "ordered$slis.jsonl" || die "$days days, $slis SLIs: the baseline gave other records"
                printf ' %s | %s | %s | %s |' "$bsecs" "$((bkib / 1024))" \
                    "$(awk -v a="$secs" -v b="$bsecs" 'BEGIN { printf "%.2f", a / b }')" \
                    "$(awk -v a="$kib" -v b="$bkib" 'BEGIN { printf "%.2f", a / b }')"
            elif [[ -n ${BASE_BIN:-} ]]; then
                printf ' - | - | - | - |'
            fi
            printf '\n'
        done
    done
done

#!/usr/bin/env bash
# Backfill benchmark: slipstream against DuckDB on the same generated logs, and
# slipstream's peak memory on large piped inputs. See benches/README.md.
#
#   RUNS=R bash benches/compare_duckdb.sh [--shape gen|nested] [LINES]
#                                      # default gen, 2000000 lines, R=5 pairs;
#                                      # WRITE_BLOCK=B writes the input B bytes
#                                      # at a time (default 4194304)
#   bash benches/compare_duckdb.sh --memory [GB...]   # default 1 2
#
# --shape nested rewrites gen's lines into JSON of another shape (nested
# objects, Unix-millisecond timestamps) with SLIs of its own.
# Runnable from any directory. Builds with `cargo build --release`, works in a
# temporary directory that is removed at exit.
set -euo pipefail

usage() {
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

say() { printf '%s\n' "$*" >&2; }
die() { say "compare_duckdb.sh: $*"; exit 2; }

MODE=compare
SHAPE=gen
LINES=2000000
SIZES=()
if [[ ${1:-} == --shape ]]; then
    [[ $# -ge 2 ]] || die "--shape takes gen or nested"
    [[ $2 == gen || $2 == nested ]] || die "--shape takes gen or nested, not '$2'"
    SHAPE=$2
    shift 2
fi
if [[ $# -gt 0 ]]; then
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --memory)
            [[ $SHAPE == gen ]] || die "--memory measures shape gen only"
            MODE=memory
            shift
            for s in "$@"; do
                [[ $s =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--memory takes sizes in GB (e.g. 1 2), not '$s'"
                SIZES+=("$s")
            done
            ;;
        *)
            [[ $# -eq 1 ]] || { usage >&2; exit 2; }
            [[ $1 =~ ^[1-9][0-9]*$ ]] || die "LINES must be a positive integer, not '$1'"
            LINES=$1
            ;;
    esac
fi
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(1 2)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CONFIG="$ROOT/config/demo.toml"
[[ -f $CONFIG ]] || die "missing $CONFIG"

command -v python3 >/dev/null || die "python3 is required"
python3 -c 'import tomllib' 2>/dev/null || die "python3 >= 3.11 is required (tomllib)"
command -v cargo >/dev/null || die "cargo is required"

if [[ $MODE == compare ]] && ! python3 -c 'import duckdb' 2>/dev/null; then
    say "== the duckdb Python module is missing: pip install duckdb"
    python3 -m pip install --quiet duckdb || die "pip install duckdb failed"
    python3 -c 'import duckdb' || die "duckdb still cannot be imported"
fi

# GNU time for the peak RSS ("Maximum resident set size").
if [[ ! -x /usr/bin/time ]]; then
    say "== /usr/bin/time is missing: apt-get install time"
    if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" apt-get install -y -q time >/dev/null \
        || { "${SUDO[@]}" apt-get update -q >/dev/null && "${SUDO[@]}" apt-get install -y -q time >/dev/null; } \
        || die "could not install GNU time (Debian package 'time')"
fi
time_report=$(/usr/bin/time -v true 2>&1 || true)
[[ $time_report == *"Maximum resident set size"* ]] \
    || die "/usr/bin/time is not GNU time (no -v report)"

source "$ROOT/benches/common.sh"
build_release

DIR=$(mktemp -d "${TMPDIR:-/tmp}/slipstream-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
# A signal must still run the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

say "== $(uptime)"
say "== nproc=$(nproc), $BIN, work dir $DIR"

if [[ $MODE == compare ]]; then
    RUNS=${RUNS:-5}
    [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
    WRITE_BLOCK=${WRITE_BLOCK:-4194304}
    [[ $WRITE_BLOCK =~ ^[1-9][0-9]*$ ]] || die "WRITE_BLOCK must be a positive integer, not '$WRITE_BLOCK'"
    python3 "$ROOT/benches/compare_duckdb.py" compare \
        --bin "$BIN" --config "$CONFIG" --shape "$SHAPE" --workdir "$DIR" --lines "$LINES" --runs "$RUNS" \
        --write-block "$WRITE_BLOCK"
else
    python3 "$ROOT/benches/compare_duckdb.py" memory \
        --bin "$BIN" --config "$CONFIG" --workdir "$DIR" --sizes "${SIZES[@]}"
fi

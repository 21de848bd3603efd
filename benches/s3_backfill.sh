#!/usr/bin/env bash
# Backfill from an S3-protocol server on loopback (moto_server) against the
# same files on local disk, in interleaved pairs: gzip ALB logs in AWS's
# layout, one object per (generated) hour. Prints the wall time of each run,
# the medians and the throughput of the bucket against the disk; then the
# peak RSS of backfills of the whole bucket and of half of it. See
# benches/README.md.
#
#   RUNS=R bash benches/s3_backfill.sh [LINES]   # default 2000000, R=5 pairs
#
# Needs moto_server and boto3 (python3 -m pip install 'moto[server]') and
# GNU time (/usr/bin/time). Runnable from any directory; builds with
# `cargo build --release`, works in a temporary directory removed at exit.
set -euo pipefail

say() { printf '%s\n' "$*" >&2; }
die() { say "s3_backfill.sh: $*"; exit 2; }

LINES=${1:-2000000}
RUNS=${RUNS:-5}
command -v moto_server >/dev/null || die "moto_server is required: python3 -m pip install 'moto[server]'"
command -v bc >/dev/null || die "bc is required (apt-get install bc)"
[[ -x /usr/bin/time ]] || die "GNU time is required (apt-get install time)"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=benches/common.sh
source "$ROOT/benches/common.sh"
positive LINES "$LINES"
positive RUNS "$RUNS"
build_release

WORK=$(mktemp -d)
MOTO_PID=
cleanup() {
    [[ -n $MOTO_PID ]] && kill "$MOTO_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

say "== $LINES requests as gzip ALB logs, one object an hour"
# 2000 requests a second: an hour holds 7.2 M, so the hours are cut at
# 200,000 lines (100 s) to give the objects of a busy load balancer.
"$BIN" gen --count "$LINES" --rate 2000 --seed 7 --format alb --out g.alb 2>/dev/null
mkdir -p bucket/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/01/01
split -l 200000 -d -a 4 g.alb part.
n=0
for f in part.*; do
    key=$(printf 'bucket/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/01/01/123456789012_elasticloadbalancing_us-east-1_app.web.1_20260101T%04dZ_10.0.0.1_x.log.gz' "$n")
    gzip -c "$f" > "$key"
    rm "$f"
    n=$((n + 1))
done
rm g.alb
cat > alb.toml <<'TOML'
[decode]
format = "alb"
[[sli]]
name = "checkout"
filter = 'request_url =~ "^https://[^/]+/api/checkout"'
good = 'status < 500'
[[sli]]
name = "search-latency"
filter = 'domain_name == "search.internal"'
good = 'latency <= 300ms'
[[sli]]
name = "all"
good = 'status < 500'
TOML

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$PORT" >/dev/null 2>moto.log &
MOTO_PID=$!
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
    sleep 0.2
done
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
python3 - "$AWS_ENDPOINT_URL" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
s3.create_bucket(Bucket="logs")
for root, _, files in os.walk("bucket"):
    for f in files:
        path = os.path.join(root, f)
        s3.upload_file(path, "logs", os.path.relpath(path, "bucket"))
PY
say "$n objects, $(du -sb bucket | cut -f1) bytes compressed"

seconds() { # INPUT -> wall seconds; the summary's `all` row to all.N
    local start end
    start=$(date +%s.%N)
    "$BIN" backfill -c alb.toml --output out.jsonl "$1" 2> summary.txt
    end=$(date +%s.%N)
    grep -E '^all ' summary.txt > "all.$2"
    echo "$end - $start" | bc -l
}

disk=() bucket=()
for ((i = 1; i <= RUNS; i++)); do
    disk+=("$(seconds bucket/AWSLogs/ disk)")
    bucket+=("$(seconds s3://logs/AWSLogs/ s3)")
    say "pair $i: disk ${disk[-1]} s, bucket ${bucket[-1]} s"
done
cmp -s all.disk all.s3 || die "the 'all' SLI differs: $(cat all.disk) / $(cat all.s3)"
md=$(median "${disk[@]}")
mb=$(median "${bucket[@]}")
printf 'median of %s pairs: disk %.3f s, bucket %.3f s; bucket throughput against disk: %.2f\n' \
    "$RUNS" "$md" "$mb" "$(echo "$md / $mb" | bc -l)"

rss() { # INPUTS... -> peak RSS in MiB
    /usr/bin/time -f '%M' -o rss.txt "$BIN" backfill -c alb.toml --output out.jsonl "$@" 2>/dev/null
    echo "$(tail -1 rss.txt) / 1024" | bc -l
}
half=$(ls bucket/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/01/01 | head -n $((n / 2)))
half_urls=()
for k in $half; do
    half_urls+=("s3://logs/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/01/01/$k")
done
printf 'peak RSS: whole bucket (%s objects) %.1f MiB, half of it %.1f MiB\n' \
    "$n" "$(rss s3://logs/AWSLogs/)" "$(rss "${half_urls[@]}")"

#!/usr/bin/env python3
"""Backfill benchmark: slipstream against DuckDB, and slipstream's peak memory.

Driven by benches/compare_duckdb.sh, which builds the release binary, makes a
temporary directory and passes both in. Subcommands:

  compare      generate LINES lines of one input shape (--shape: gen's own,
               or nested), time `slipstream backfill` and an equivalent
               DuckDB query (--runs interleaved pairs), check that both give
               the same per-SLI, per-minute counts, print a table.
  memory       pipe `slipstream gen --out -` into `slipstream backfill -` for
               inputs of a few sizes and report the peak RSS of each.
  duckdb-run   (internal) one DuckDB run in a fresh process, so its time and
               peak RSS are its own.

Only the standard library is needed, plus the `duckdb` module for DuckDB.

Why one long file: both subcommands share the input shapes, the SQL that
mirrors each SLI and the checks that the counts agree, and the script runs
with nothing but the standard library beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

TIME = "/usr/bin/time"

# The incidents of the benchmark input: an error burst on checkout and a
# latency regression on search, so good/bad and the tails are not trivial.
GEN_ARGS = [
    "--rate", "2000",
    "--seed", "7",
    "--incident", "kind=errors,start=5m,duration=3m,rate=0.3,service=checkout",
    "--incident", "kind=latency,start=10m,duration=5m,factor=4,service=search",
]

DEFAULT_PERCENTILES = [0.5, 0.9, 0.99]

# The SLIs of each shape, translated by hand into SQL over the columns its
# COLUMNS declare. The rule language is three-valued (Kleene logic, a missing or
# mistyped value is unknown), exactly like SQL's NULL logic, so:
#   - an event counts in an SLI when `(filter) IS TRUE`,
#   - it is good when `(good) IS TRUE`, bad when `(good) IS FALSE`, and
#     invalid when `(good) IS NULL`.
# `=~` is an unanchored regex search in both Rust's regex and DuckDB's RE2
# (`regexp_matches`); `latency` is the shape's latency column, in ms
# (latency_unit = "ms"), so `300ms` is 300 and `1s` is 1000.
# `config` holds the rule text the SQL was written from; the script refuses
# to run if the configuration no longer says the same.

# Shape `gen`: slipstream gen's lines as they are, with config/demo.toml.
GEN_SLIS = [
    {
        "name": "checkout-availability",
        "config": {
            "filter": 'service == "checkout" && http.route =~ "^/api/checkout"',
            "good": "status < 500",
            "percentiles": [0.5, 0.9, 0.99, 0.999],
        },
        "filter_sql": "service = 'checkout' AND regexp_matches(http.route, '^/api/checkout')",
        "good_sql": "status < 500",
    },
    {
        "name": "checkout-latency",
        "config": {"filter": 'service == "checkout"', "good": "latency <= 300ms", "percentiles": None},
        "filter_sql": "service = 'checkout'",
        "good_sql": "latency_ms <= 300",
    },
    {
        "name": "search-availability",
        "config": {"filter": 'service == "search" && status != 429', "good": "status < 500", "percentiles": None},
        "filter_sql": "service = 'search' AND status <> 429",
        "good_sql": "status < 500",
    },
    {
        "name": "api-latency",
        "config": {
            "filter": 'region in ["eu-west-1", "us-east-1"] && !(method == "OPTIONS")',
            "good": "latency < 1s",
            "percentiles": [0.5, 0.75, 0.9, 0.99],
        },
        "filter_sql": "region IN ('eu-west-1', 'us-east-1') AND NOT (method = 'OPTIONS')",
        "good_sql": "latency_ms < 1000",
    },
]

# Every field the rules read, with its type. Explicit columns: DuckDB neither
# samples the file to infer a schema nor parses the fields nobody uses.
GEN_COLUMNS = (
    "{timestamp: 'TIMESTAMPTZ', service: 'VARCHAR', method: 'VARCHAR', "
    "http: 'STRUCT(route VARCHAR)', status: 'BIGINT', latency_ms: 'DOUBLE', "
    "region: 'VARCHAR'}"
)

# Shape `nested`: the same requests as JSON of another shape than gen's: the
# time in Unix milliseconds (a JSON integer), the request and the response in
# objects of their own, other key names.
#   {"ts":1767225600123,"req":{"method":"GET","path":"/api/checkout/payment",
#    "host":"checkout.internal","id":"26dd6ba0018e0163"},
#    "res":{"status":200,"duration_ms":44.198},"svc":"checkout",
#    "region":"eu-west-1","client_ip":"10.32.133.201","user_agent":"..."}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def unix_ms(rfc3339: str) -> int:
    """Milliseconds since the epoch, in integers all the way (no float)."""
    ms, rest = divmod(datetime.fromisoformat(rfc3339) - EPOCH, timedelta(milliseconds=1))
    if rest:
        die(f"timestamp {rfc3339} has a fraction below the millisecond")
    return ms


def nested_event(e: dict) -> dict:
    """One line of slipstream gen, rewritten into the nested shape."""
    return {
        "ts": unix_ms(e["timestamp"]),
        "req": {"method": e["method"], "path": e["http"]["route"], "host": e["http"]["host"], "id": e["request_id"]},
        "res": {"status": e["status"], "duration_ms": e["latency_ms"]},
        "svc": e["service"],
        "region": e["region"],
        "client_ip": e["client_ip"],
        "user_agent": e["user_agent"],
    }


NESTED_SLIS = [
    {
        "name": "checkout-cart-availability",
        "config": {
            "filter": 'req.path =~ "^/api/(checkout|cart)"',
            "good": "status < 500",
            "percentiles": [0.5, 0.9, 0.99, 0.999],
        },
        "filter_sql": "regexp_matches(req.path, '^/api/(checkout|cart)')",
        "good_sql": "res.status < 500",
    },
    {
        "name": "checkout-search-latency",
        "config": {"filter": 'svc in ["checkout", "search"]', "good": "latency <= 300ms", "percentiles": None},
        "filter_sql": "svc IN ('checkout', 'search')",
        "good_sql": "res.duration_ms <= 300",
    },
    {
        "name": "read-availability",
        "config": {
            "filter": 'req.method in ["GET", "HEAD"] && !(svc == "auth")',
            "good": "status < 500",
            "percentiles": None,
        },
        "filter_sql": "req.method IN ('GET', 'HEAD') AND NOT (svc = 'auth')",
        "good_sql": "res.status < 500",
    },
    {
        "name": "regional-availability",
        "config": {
            "filter": 'region in ["eu-west-1", "us-east-1"] && status != 429',
            "good": "status < 500",
            "percentiles": [0.5, 0.75, 0.9, 0.99],
        },
        "filter_sql": "region IN ('eu-west-1', 'us-east-1') AND res.status <> 429",
        "good_sql": "res.status < 500",
    },
]

# Only the fields the rules read, as for gen; `req` and `res` as structs.
NESTED_COLUMNS = (
    "{ts: 'BIGINT', req: 'STRUCT(method VARCHAR, path VARCHAR)', "
    "res: 'STRUCT(status BIGINT, duration_ms DOUBLE)', svc: 'VARCHAR', region: 'VARCHAR'}"
)

# Written into the work directory; check_config holds it to NESTED_SLIS.
NESTED_CONFIG = """\
[decode]
format = "json"

[decode.fields]
timestamp = "ts"
timestamp_format = "unix_ms"
status = "res.status"
latency = "res.duration_ms"
latency_unit = "ms"

[window]
size = "1m"

[[sli]]
name = "checkout-cart-availability"
filter = 'req.path =~ "^/api/(checkout|cart)"'
good = 'status < 500'
percentiles = [0.5, 0.9, 0.99, 0.999]

[[sli]]
name = "checkout-search-latency"
filter = 'svc in ["checkout", "search"]'
good = 'latency <= 300ms'

[[sli]]
name = "read-availability"
filter = 'req.method in ["GET", "HEAD"] && !(svc == "auth")'
good = 'status < 500'

[[sli]]
name = "regional-availability"
filter = 'region in ["eu-west-1", "us-east-1"] && status != 429'
good = 'status < 500'
percentiles = [0.5, 0.75, 0.9, 0.99]
"""


@dataclass(frozen=True)
class Shape:
    """An input shape: how its lines are made, its configuration, and its SQL."""

    name: str
    transform: Callable[[dict], dict] | None  # gen's event -> a line of this shape; None: gen's own lines
    config: str | None  # TOML text, written into the work directory; None: the file of --config
    fields: dict[str, str]  # the [decode.fields] the SQL is written for
    slis: list[dict]
    columns: str  # read_ndjson's `columns`
    minute_sql: str  # the minute since the epoch of an event
    latency_sql: str  # its latency in ms


SHAPES = {
    "gen": Shape(
        name="gen",
        transform=None,
        config=None,
        fields={"timestamp": "timestamp", "status": "status", "latency": "latency_ms", "latency_unit": "ms"},
        slis=GEN_SLIS,
        columns=GEN_COLUMNS,
        minute_sql="floor(epoch_ms(timestamp) / 60000)",
        latency_sql="latency_ms",
    ),
    "nested": Shape(
        name="nested",
        transform=nested_event,
        config=NESTED_CONFIG,
        fields={
            "timestamp": "ts",
            "timestamp_format": "unix_ms",
            "status": "res.status",
            "latency": "res.duration_ms",
            "latency_unit": "ms",
        },
        slis=NESTED_SLIS,
        columns=NESTED_COLUMNS,
        minute_sql="floor(ts / 60000)",
        latency_sql="res.duration_ms",
    ),
}


def die(msg: str, code: int = 2) -> None:
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(code)


def pct_key(p: float) -> str:
    """0.5 -> p50, 0.75 -> p75, 0.99 -> p99, 0.999 -> p999 (CONTRACT.md, Records)."""
    digits = repr(p).split(".", 1)[1] if "." in repr(p) else ""
    return "p" + digits.ljust(2, "0")


def percentiles_of(sli: dict) -> list[float]:
    return sli["config"]["percentiles"] or DEFAULT_PERCENTILES


def check_config(path: Path, shape: Shape) -> None:
    """Refuses to compare against SQL written for another configuration."""
    with open(path, "rb") as f:
        cfg = tomllib.load(f)
    dec = cfg.get("decode", {}).get("fields", {})
    for k, v in shape.fields.items():
        if dec.get(k) != v:
            die(f"{path}: [decode.fields] {k} is {dec.get(k)!r}, the SQL of shape {shape.name} assumes {v!r}; "
                f"update it in {__file__}")
    size = cfg.get("window", {}).get("size")
    if size != "1m":
        die(f"{path}: [window] size is {size!r}, the SQL assumes 1-minute windows")
    got = [
        (s["name"], {"filter": s.get("filter"), "good": s["good"], "percentiles": s.get("percentiles")})
        for s in cfg.get("sli", [])
    ]
    want = [(s["name"], s["config"]) for s in shape.slis]
    if got != want:
        die(
            f"{path} no longer has the SLIs the DuckDB SQL was written for.\n"
            f"  config: {got}\n  script: {want}\n"
            f"Update the SLIs of shape {shape.name} in {__file__} to match the rules exactly."
        )


def duckdb_sql(path: str, shape: Shape) -> str:
    """One scan, one hash aggregate: every SLI's counts and percentiles per window."""
    aggs = []
    lat = shape.latency_sql
    for i, s in enumerate(shape.slis):
        f, g = f"({s['filter_sql']})", f"({s['good_sql']})"
        ps = ", ".join(repr(p) for p in percentiles_of(s))
        aggs += [
            f"count(*) FILTER (WHERE {f} IS TRUE) AS total_{i}",
            f"count(*) FILTER (WHERE {f} IS TRUE AND {g} IS TRUE) AS good_{i}",
            f"count(*) FILTER (WHERE {f} IS TRUE AND {g} IS FALSE) AS bad_{i}",
            f"count(*) FILTER (WHERE {f} IS TRUE AND {g} IS NULL) AS invalid_{i}",
            f"count({lat}) FILTER (WHERE {f} IS TRUE) AS lcount_{i}",
            f"quantile_cont({lat}, [{ps}]) FILTER (WHERE {f} IS TRUE) AS q_{i}",
        ]
    quoted = path.replace("'", "''")
    return (
        f"SELECT {shape.minute_sql}::BIGINT AS minute,\n  "
        + ",\n  ".join(aggs)
        + f"\nFROM read_ndjson('{quoted}', columns = {shape.columns})\nGROUP BY minute"
    )


def nearest_rank_sql(path: str, shape: Shape) -> str:
    """Untimed: the exact nearest-rank percentiles (the value of rank ceil(p * n)),
    the definition slipstream's "within 1 %" is stated against."""
    lists, picks = [], []
    lat = shape.latency_sql
    for i, s in enumerate(shape.slis):
        lists.append(
            f"list({lat} ORDER BY {lat}) FILTER (WHERE ({s['filter_sql']}) IS TRUE AND {lat} IS NOT NULL) AS l_{i}"
        )
        picks.append(
            "[" + ", ".join(f"l_{i}[greatest(1, ceil({p!r} * len(l_{i})))::BIGINT]" for p in percentiles_of(s)) + f"] AS q_{i}"
        )
    quoted = path.replace("'", "''")
    return (
        "SELECT minute, " + ", ".join(picks) + f" FROM (\nSELECT {shape.minute_sql}::BIGINT AS minute,\n  "
        + ",\n  ".join(lists)
        + f"\nFROM read_ndjson('{quoted}', columns = {shape.columns})\nGROUP BY minute)"
    )


# --------------------------------------------------------------------------
# duckdb-run: one run in its own process


def cmd_duckdb_run(a: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    import duckdb  # noqa: PLC0415  (imported here: the parent must not need it)

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    con = duckdb.connect(":memory:")
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    shape = SHAPES[a.shape]
    if a.nearest_rank:
        rows = con.execute(nearest_rank_sql(a.input, shape)).fetchall()
        con.close()
        out = [
            {"sli": s["name"], "minute": r[0], "percentiles": dict(zip(map(pct_key, percentiles_of(s)), r[1 + i]))}
            for r in rows
            for i, s in enumerate(shape.slis)
            if r[1 + i] and r[1 + i][0] is not None
        ]
        with open(a.out, "w") as f:
            json.dump(out, f)
        json.dump({}, sys.stdout)
        return
    rows = con.execute(duckdb_sql(a.input, shape)).fetchall()
    elapsed = time.perf_counter() - t0
    con.close()
    # ru_maxrss is in KiB on Linux; it includes the interpreter and the module.
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    records = []
    for r in rows:
        minute = r[0]
        for i, s in enumerate(shape.slis):
            total, good, bad, invalid, lcount, q = r[1 + 6 * i : 7 + 6 * i]
            if total == 0:
                continue  # slipstream writes no record for an SLI without events in a window
            records.append(
                {
                    "sli": s["name"],
                    "minute": minute,
                    "total": total,
                    "good": good,
                    "bad": bad,
                    "invalid": invalid,
                    "latency_count": lcount,
                    "percentiles": {pct_key(p): v for p, v in zip(percentiles_of(s), q or [])},
                }
            )
    with open(a.out, "w") as f:
        json.dump(records, f)
    json.dump(
        {"elapsed": elapsed, "import": t_import, "rss_kib": rss_kib, "threads": threads, "version": duckdb.__version__},
        sys.stdout,
    )


# --------------------------------------------------------------------------
# helpers shared by compare and memory


def parse_time_v(path: Path) -> dict:
    """The fields of GNU time's -v report that we use."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("Maximum resident set size (kbytes):"):
            out["rss_kib"] = int(line.rsplit(":", 1)[1])
        elif line.startswith("User time (seconds):"):
            out["user"] = float(line.rsplit(":", 1)[1])
        elif line.startswith("System time (seconds):"):
            out["sys"] = float(line.rsplit(":", 1)[1])
        elif line.startswith("Percent of CPU this job got:"):
            out["cpu"] = line.rsplit(":", 1)[1].strip()
    if "rss_kib" not in out:
        die(f"no 'Maximum resident set size' in {path}: is {TIME} GNU time?")
    return out


def run_checked(cmd: list[str], what: str, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        print(p.stdout, end="")
        print(p.stderr, end="", file=sys.stderr)
        die(f"{what} exited {p.returncode}: {' '.join(cmd)}")
    return p


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def window_minute(rfc3339: str) -> int:
    dt = datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    secs = int(dt.astimezone(timezone.utc).timestamp())
    if secs % 60:
        die(f"window_start {rfc3339} is not on a minute")
    return secs // 60


def minute_str(m: int) -> str:
    return datetime.fromtimestamp(m * 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------
# compare


def generate(a, shape: Shape, logs: Path) -> None:
    """LINES lines of gen into LOGS, rewritten line by line unless the shape is gen's own.

    The file is written --write-block bytes at a time: the page cache keeps a
    file in pieces of about the size it was written in (with large folios,
    Linux 6.x on ext4 and XFS), and a file written in large blocks, as a copy
    or a read from disk leaves it, is mapped and read with less of the
    kernel's work per page than one written 8 KB at a time.
    """
    gen = [a.bin, "gen", "--count", str(a.lines), *GEN_ARGS, "--out", "-"]
    p = subprocess.Popen(gen, stdout=subprocess.PIPE)
    assert p.stdout is not None
    with open(logs, "wb", buffering=0) as out:
        block = bytearray()
        for line in p.stdout:
            if shape.transform is not None:
                event = shape.transform(json.loads(line))
                line = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
            block += line
            if len(block) >= a.write_block:
                # Whole blocks only, so every write starts at a multiple of
                # the block size, as `dd bs=...` writes.
                whole = len(block) // a.write_block * a.write_block
                out.write(block[:whole])
                del block[:whole]
        out.write(block)
        # On disk before anything is timed: writeback during the runs would
        # slow whichever tool it met.
        os.fsync(out.fileno())
    if p.wait() != 0:
        die(f"slipstream gen exited {p.returncode}: {' '.join(gen)}")


def run_slipstream(a, config: Path, logs: Path, out: Path, timef: Path) -> tuple[float, dict, str]:
    cmd = [TIME, "-v", "-o", str(timef), a.bin, "backfill", "-c", str(config), "--no-progress",
           "--output", str(out), str(logs)]
    t0 = time.perf_counter()
    p = run_checked(cmd, "slipstream backfill")
    elapsed = time.perf_counter() - t0
    return elapsed, parse_time_v(timef), p.stdout + p.stderr


def run_duckdb(a, logs: Path, out: Path, nearest_rank: bool = False) -> dict:
    cmd = [sys.executable, __file__, "duckdb-run", "--shape", a.shape, "--input", str(logs), "--out", str(out)]
    if nearest_rank:
        cmd.append("--nearest-rank")
    p = run_checked(cmd, "DuckDB run")
    return json.loads(p.stdout)


def read_slipstream(path: Path) -> dict:
    recs = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            r = json.loads(line)
            if r.get("kind") != "window":
                continue
            key = (r["sli"], window_minute(r["window_start"]))
            if key in recs:
                die(f"{path}:{n}: a second window record for {key[0]} {r['window_start']}", 1)
            recs[key] = r
    return recs


def compare_records(slip: dict, duck: list[dict], slis: list[dict], tolerance: float) -> tuple[list[str], dict]:
    """Count mismatches (as printable rows) and the max percentile deviation per key."""
    d = {(r["sli"], r["minute"]): r for r in duck}
    mismatches = []
    devs: dict[str, tuple[float, str]] = {}
    over = []
    order = {s["name"]: i for i, s in enumerate(slis)}
    for key in sorted(set(slip) | set(d), key=lambda k: (k[1], order.get(k[0], len(order)), k[0])):
        sli, minute = key
        s, q = slip.get(key), d.get(key)
        where = f"{sli} {minute_str(minute)}"
        if s is None or q is None:
            mismatches.append(f"{where}: only in {'DuckDB' if s is None else 'slipstream'}: "
                              f"{json.dumps(q if s is None else {k: s[k] for k in ('total', 'good', 'bad', 'invalid')})}")
            continue
        lat = s.get("latency") or {}
        pairs = [("total", s["total"], q["total"]), ("good", s["good"], q["good"]),
                 ("bad", s["bad"], q["bad"]), ("invalid", s.get("invalid", 0), q["invalid"]),
                 ("latency.count", lat.get("count", 0), q["latency_count"])]
        diff = [f"{n} slipstream={x} duckdb={y}" for n, x, y in pairs if x != y]
        if diff:
            mismatches.append(f"{where}: " + ", ".join(diff))
        for pk, exact in q["percentiles"].items():
            got = lat.get(pk)
            if got is None or exact is None:
                if got != exact:
                    mismatches.append(f"{where}: {pk} slipstream={got} duckdb={exact}")
                continue
            dev = abs(got - exact) / abs(exact) if exact else abs(got)
            if pk not in devs or dev > devs[pk][0]:
                devs[pk] = (dev, f"{where}: slipstream {got}, DuckDB {exact:.4f}")
            if dev > tolerance:
                over.append(f"{where}: {pk} slipstream={got} duckdb={exact:.4f} ({dev * 100:.2f}%)")
    return mismatches, {"devs": devs, "over": over}


def cmd_compare(a: argparse.Namespace) -> None:
    shape = SHAPES[a.shape]
    work = Path(a.workdir)
    if shape.config is None:
        config = Path(a.config)
    else:
        config = work / f"{shape.name}.toml"
        config.write_text(shape.config)
    check_config(config, shape)
    logs = work / "logs.jsonl"
    print(f"== generating {a.lines} lines of shape {shape.name}, configuration {config} ({load()})", flush=True)
    t0 = time.perf_counter()
    generate(a, shape, logs)
    size = logs.stat().st_size
    print(f"   {logs}: {size / 1e6:.1f} MB, {size / a.lines:.0f} bytes/line, written {a.write_block} bytes at a time, "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    # Read it once so the first timed run does not pay for the page cache.
    with open(logs, "rb") as f:
        while f.read(1 << 24):
            pass

    # Interleaved, so each slipstream run has a DuckDB run right after it: on
    # a shared machine the speed drifts over minutes, and a pair sees the
    # same conditions.
    slip_times, slip_rss, slip_out = [], [], []
    duck_times, duck_rss, info = [], [], {}
    duck_out = work / "duckdb.json"
    summary = ""
    print(f"== {a.runs} pairs: slipstream backfill, then DuckDB", flush=True)
    for i in range(a.runs):
        out = work / f"slipstream-{i}.jsonl"
        elapsed, tv, summary = run_slipstream(a, config, logs, out, work / f"time-{i}.txt")
        slip_times.append(elapsed)
        slip_rss.append(tv["rss_kib"])
        slip_out.append(out)
        print(f"   slipstream run {i + 1}: {elapsed:.3f} s, peak RSS {mib(tv['rss_kib'])}, "
              f"user {tv['user']:.2f} s + sys {tv['sys']:.2f} s, CPU {tv['cpu']} ({load()})", flush=True)
        info = run_duckdb(a, logs, duck_out)
        duck_times.append(info["elapsed"])
        duck_rss.append(info["rss_kib"])
        print(f"   DuckDB run {i + 1}:     {info['elapsed']:.3f} s, peak RSS {mib(info['rss_kib'])} "
              f"(duckdb {info['version']}, threads={info['threads']}) ({load()})", flush=True)
    print("   " + "\n   ".join(summary.strip().splitlines()), flush=True)
    pairs = sorted(d / s for s, d in zip(slip_times, duck_times))
    median = statistics.median(pairs)

    # The check: every window record against DuckDB's numbers.
    slip = read_slipstream(slip_out[0])
    for other in slip_out[1:]:
        if read_slipstream(other) != slip:
            print(f"WARNING: slipstream runs gave different window records ({slip_out[0].name} vs {other.name})")
    with open(duck_out) as f:
        duck = json.load(f)
    mismatches, pct = compare_records(slip, duck, shape.slis, a.tolerance)

    # Untimed: how far slipstream is from the exact nearest-rank values, the
    # definition its 1 % is stated against (quantile_cont interpolates, so it
    # can differ from nearest-rank by more than that in a sparse tail).
    print("== DuckDB, exact nearest-rank percentiles (untimed)", flush=True)
    run_duckdb(a, logs, work / "nearest.json", nearest_rank=True)
    nr_devs: dict[str, tuple[float, str]] = {}
    with open(work / "nearest.json") as f:
        for r in json.load(f):
            lat = (slip.get((r["sli"], r["minute"])) or {}).get("latency") or {}
            for pk, exact in r["percentiles"].items():
                got = lat.get(pk)
                if got is None or exact is None:
                    continue
                dev = abs(got - exact) / abs(exact) if exact else abs(got)
                if pk not in nr_devs or dev > nr_devs[pk][0]:
                    nr_devs[pk] = (dev, f"{r['sli']} {minute_str(r['minute'])}: slipstream {got}, exact {exact}")

    nproc = os.cpu_count()
    best_s, best_d = min(slip_times), min(duck_times)
    mb = size / 1e6
    print()
    print(f"{'shape':<28}{shape.name:>14}")
    print(f"{'lines':<28}{a.lines:>14,}")
    print(f"{'input':<28}{mb:>11.1f} MB")
    print(f"{'nproc':<28}{nproc:>14}")
    print(f"{'slipstream best of ' + str(a.runs):<28}{best_s:>12.3f} s  {a.lines / best_s:>12,.0f} lines/s  "
          f"{mb / best_s:>7.1f} MB/s  peak RSS {mib(max(slip_rss))}")
    print(f"{'DuckDB best of ' + str(a.runs):<28}{best_d:>12.3f} s  {a.lines / best_d:>12,.0f} lines/s  "
          f"{mb / best_d:>7.1f} MB/s  peak RSS {mib(max(duck_rss))} (incl. Python)")
    print(f"{'ratio DuckDB/slipstream':<28}{best_d / best_s:>13.2f}x best against best; "
          f"per pair {' '.join(f'{r:.2f}' for r in pairs)}, median {median:.2f}x")
    print(f"{'windows compared':<28}{len(slip):>14} (sli x minute)")
    for pk in sorted(pct["devs"], key=lambda k: float("0." + k[1:])):
        dev, where = pct["devs"][pk]
        print(f"  max deviation {pk:<12}{dev * 100:>11.3f} %  ({where})")
    if pct["devs"]:
        worst = max(v[0] for v in pct["devs"].values())
        print(f"{'max percentile deviation':<28}{worst * 100:>12.3f} % (tolerance {a.tolerance * 100:g} %, vs quantile_cont)")
    if nr_devs:
        worst_nr, where_nr = max(nr_devs.values())
        print(f"{'max deviation, nearest-rank':<28}{worst_nr * 100:>12.3f} % (contract: 1 %; {where_nr})")
    print()
    print(f"backfill vs DuckDB on {a.lines:,} lines of shape {shape.name} ({mb:.0f} MB), nproc={nproc}: "
          f"slipstream {best_s:.2f} s, DuckDB {best_d:.2f} s, ratio {best_d / best_s:.2f}x "
          f"(median of {a.runs} interleaved pairs {median:.2f}x)")
    print(f"({load()})")

    if mismatches:
        print(f"\nFAIL: {len(mismatches)} window(s) differ between slipstream and DuckDB; the first ones:", file=sys.stderr)
        for m in mismatches[:10]:
            print("  " + m, file=sys.stderr)
        sys.exit(1)
    if pct["over"]:
        print(f"\nFAIL: {len(pct['over'])} percentile(s) off by more than {a.tolerance * 100:g} %; the first ones:",
              file=sys.stderr)
        for m in pct["over"][:10]:
            print("  " + m, file=sys.stderr)
        sys.exit(1)
    if nr_devs and max(nr_devs.values())[0] > 0.01:
        print("WARNING: a percentile is more than 1 % from the exact nearest-rank value (see above)")
    print(f"OK: total/good/bad/invalid agree exactly in all {len(slip)} window records; "
          f"percentiles within {a.tolerance * 100:g} %")


# --------------------------------------------------------------------------
# memory


def bytes_per_line(a) -> float:
    p = subprocess.run([a.bin, "gen", "--count", "20000", *GEN_ARGS, "--out", "-"], capture_output=True, check=True)
    return len(p.stdout) / 20000


def cmd_memory(a: argparse.Namespace) -> None:
    work = Path(a.workdir)
    bpl = bytes_per_line(a)
    print(f"== gen writes ~{bpl:.0f} bytes/line. Piped: gen --out - | backfill - (nothing on disk); "
          f"file: gen --out FILE, then backfill FILE (a plain file is memory-mapped) ({load()})", flush=True)
    results = []
    for gb in a.sizes:
        lines = math.ceil(gb * 1e9 / bpl)
        timef = work / f"time-mem-{gb}.txt"
        out = work / f"mem-{gb}.jsonl"
        gen = subprocess.Popen([a.bin, "gen", "--count", str(lines), *GEN_ARGS, "--out", "-"],
                               stdout=subprocess.PIPE)
        t0 = time.perf_counter()
        bf = subprocess.Popen([TIME, "-v", "-o", str(timef), a.bin, "backfill", "-c", a.config, "--no-progress",
                               "--output", str(out), "-"],
                              stdin=gen.stdout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert gen.stdout is not None
        gen.stdout.close()  # backfill holds the only reader now
        summary, _ = bf.communicate()
        elapsed = time.perf_counter() - t0
        grc = gen.wait()
        if grc != 0 or bf.returncode != 0:
            print(summary, end="")
            die(f"pipeline failed: gen exited {grc}, backfill exited {bf.returncode}")
        piped = parse_time_v(timef)["rss_kib"]
        read = lines_read(summary, lines)
        windows = sum(1 for _ in open(out))
        print(f"   {gb:g} GB piped: {lines:,} lines; backfill read {read}; {windows} records; {elapsed:.1f} s "
              f"(shared with gen: not a throughput figure); peak RSS {mib(piped)} ({load()})", flush=True)

        logs = work / f"mem-{gb}-logs.jsonl"
        run_checked([a.bin, "gen", "--count", str(lines), *GEN_ARGS, "--out", str(logs)], "gen")
        p = run_checked([TIME, "-v", "-o", str(timef), a.bin, "backfill", "-c", a.config, "--no-progress",
                         "--output", str(out), str(logs)], "backfill")
        logs.unlink()
        mapped = parse_time_v(timef)["rss_kib"]
        read = lines_read(p.stdout + p.stderr, lines)
        print(f"   {gb:g} GB file:  backfill read {read}; peak RSS {mib(mapped)} ({load()})", flush=True)
        results.append((gb, lines, piped, mapped))
    print()
    print(f"{'input':>10} {'lines':>12} {'RSS piped':>12} {'RSS file':>12}")
    for gb, lines, piped, mapped in results:
        print(f"{gb:>7g} GB {lines:>12,} {mib(piped):>12} {mib(mapped):>12}")
    if len(results) >= 2:
        lo, hi = results[0], results[-1]
        for what, i in (("piped", 2), ("file", 3)):
            print(f"\nbackfill peak RSS ({what}), nproc={os.cpu_count()}: {mib(lo[i])} on {lo[0]:g} GB of input, "
                  f"{mib(hi[i])} on {hi[0]:g} GB (x{hi[i] / lo[i]:.2f} for x{hi[0] / lo[0]:g} the input)")
    print(f"({load()})")


def lines_read(summary: str, lines: int) -> str:
    """The summary's "N MB, M lines", checked against the lines gen wrote."""
    m = re.search(r"([\d.]+) ([kMGT]?B), (\d+) lines", summary)
    if not m:
        die(f"no line count in the backfill summary:\n{summary}")
    if int(m.group(3)) != lines:
        die(f"backfill read {m.group(3)} lines, gen wrote {lines}")
    return f"{m.group(1)} {m.group(2)}, {int(m.group(3)):,} lines"


# --------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--bin", required=True)
    c.add_argument("--config", required=True, help="the configuration of shape gen; the other shapes bring their own")
    c.add_argument("--shape", choices=SHAPES, default="gen")
    c.add_argument("--workdir", required=True)
    c.add_argument("--lines", type=int, default=2_000_000)
    c.add_argument("--runs", type=int, default=5)
    c.add_argument("--tolerance", type=float, default=0.02, help="relative, for percentiles")
    c.add_argument("--write-block", type=int, default=4 << 20,
                   help="bytes per write of the input file (8192: as a program writing 8 KB at a time)")
    m = sub.add_parser("memory")
    m.add_argument("--bin", required=True)
    m.add_argument("--config", required=True)
    m.add_argument("--workdir", required=True)
    m.add_argument("--sizes", type=float, nargs="+", default=[1.0, 2.0], help="input sizes in GB (1e9 bytes)")
    d = sub.add_parser("duckdb-run")
    d.add_argument("--shape", choices=SHAPES, required=True)
    d.add_argument("--input", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--nearest-rank", action="store_true", help="compute exact nearest-rank percentiles instead")
    a = ap.parse_args()
    if a.cmd == "compare":
        if a.lines <= 0 or a.runs <= 0:
            die("--lines and --runs must be positive")
        cmd_compare(a)
    elif a.cmd == "memory":
        cmd_memory(a)
    else:
        cmd_duckdb_run(a)


if __name__ == "__main__":
    main()

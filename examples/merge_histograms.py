#!/usr/bin/env python3
"""Latency percentiles over any set of slipstream window records.

Every window record carries `latency_histogram`: the window's latencies as an
HdrHistogram (V2 compressed encoding, base64, values in microseconds). Merging
the histograms of many windows gives the exact histogram of all their events,
so its percentiles are those of the whole period, within HdrHistogram's
precision (two significant digits: under 1%).

Reads, on standard input or from the files named, either JSON lines of records
(`kind = "window"`; keep one SLI with --sli) or one base64 histogram per line
(what `psql -At -c "SELECT latency_histogram FROM window_records ..."` prints).
Prints one JSON object: the count and each percentile in milliseconds.

    pip install hdrhistogram
    python3 merge_histograms.py --sli checkout-availability records.jsonl
"""

import argparse
import fileinput
import json
import sys

from hdrh.histogram import HdrHistogram


def histograms(lines, sli):
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("kind") != "window" or (sli and record.get("sli") != sli):
                continue
            line = record.get("latency_histogram")
            if not line:
                continue
        yield HdrHistogram.decode(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sli", help="keep the records of this SLI")
    parser.add_argument(
        "--percentiles",
        default="50,90,99",
        help="comma-separated percentiles (default 50,90,99)",
    )
    parser.add_argument("files", nargs="*", help="record files (default: stdin)")
    args = parser.parse_args()

    # One microsecond to a year (the longest `max_latency`), two significant
    # digits: what slipstream writes.
    merged = HdrHistogram(1, 1 << 45, 2)
    windows = 0
    for h in histograms(fileinput.input(args.files), args.sli):
        merged.add(h)
        windows += 1
    out = {"windows": windows, "count": merged.get_total_count()}
    for p in args.percentiles.split(","):
        p = float(p)
        key = "p" + format(p, "g").replace(".", "")
        out[key] = merged.get_value_at_percentile(p) / 1000 if windows else None
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()

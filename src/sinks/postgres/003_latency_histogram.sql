-- A window's latencies as an HdrHistogram (V2 compressed, base64, values in
-- microseconds): percentiles over any set of windows by merging them.
ALTER TABLE window_records ADD COLUMN latency_histogram text;

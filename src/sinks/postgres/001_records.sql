-- slipstream's records, one row per record key. Columns are the record's
-- top-level fields; nested objects are flattened with `_`.

CREATE TABLE window_records (
    sli            text        NOT NULL,
    window_start   timestamptz NOT NULL,
    window_end     timestamptz NOT NULL,
    total          bigint      NOT NULL,
    good           bigint      NOT NULL,
    bad            bigint      NOT NULL,
    invalid        bigint      NOT NULL,
    compliance     float8,
    target         float8,
    latency_unit   text,
    latency_count  bigint,
    latency_min    float8,
    latency_mean   float8,
    latency_max    float8,
    latency_p50    float8,
    latency_p75    float8,
    latency_p90    float8,
    latency_p95    float8,
    latency_p99    float8,
    latency_p999   float8,
    -- Every percentile the SLI lists, including those without a column.
    latency        jsonb,
    PRIMARY KEY (sli, window_start)
);
CREATE INDEX window_records_end ON window_records (window_end);

CREATE TABLE slo_records (
    sli                         text        NOT NULL,
    at                          timestamptz NOT NULL,
    objective_target            float8      NOT NULL,
    objective_window            text        NOT NULL,
    objective_method            text        NOT NULL,
    objective_slice             text,
    period_start                timestamptz NOT NULL,
    period_end                  timestamptz NOT NULL,
    good                        bigint      NOT NULL,
    bad                         bigint      NOT NULL,
    compliance                  float8,
    budget_allowed              float8      NOT NULL,
    budget_spent                float8      NOT NULL,
    budget_remaining            float8      NOT NULL,
    budget_remaining_ratio      float8,
    budget_outage_minutes_left  float8,
    burn_rate_5m                float8,
    burn_rate_30m               float8,
    burn_rate_1h                float8,
    burn_rate_2h                float8,
    burn_rate_6h                float8,
    burn_rate_1d                float8,
    burn_rate_3d                float8,
    PRIMARY KEY (sli, at)
);
CREATE INDEX slo_records_at ON slo_records (at);

CREATE TABLE alert_records (
    sli                       text        NOT NULL,
    severity                  text        NOT NULL,
    at                        timestamptz NOT NULL,
    state                     text        NOT NULL,
    long_window               text        NOT NULL,
    short_window              text        NOT NULL,
    burn_rate_long            float8,
    burn_rate_short           float8,
    threshold                 float8      NOT NULL,
    incident_start            timestamptz NOT NULL,
    budget_spent_in_incident  float8,
    exhaustion_at             timestamptz,
    summary                   text        NOT NULL,
    PRIMARY KEY (sli, severity, at)
);
CREATE INDEX alert_records_at ON alert_records (at);

-- The newest state of every objective: what a status panel shows.
CREATE VIEW slo_status AS
SELECT DISTINCT ON (sli) *
FROM slo_records
ORDER BY sli, at DESC;

-- Alerts firing now: per SLI and severity, the newest alert record when it
-- says `firing`.
CREATE VIEW alerts_firing AS
SELECT *
FROM (
    SELECT DISTINCT ON (sli, severity) *
    FROM alert_records
    ORDER BY sli, severity, at DESC
) latest
WHERE state = 'firing';

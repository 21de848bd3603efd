-- Grouped SLIs (`group_by`): a record's `group` object, and its compact JSON
-- text in `group_key` ('' for an ungrouped SLI), part of each table's key so
-- that every group of an SLI has its own rows.
ALTER TABLE window_records ADD COLUMN "group" jsonb, ADD COLUMN group_key text NOT NULL DEFAULT '';
ALTER TABLE window_records DROP CONSTRAINT window_records_pkey;
ALTER TABLE window_records ADD PRIMARY KEY (sli, group_key, window_start);

ALTER TABLE slo_records ADD COLUMN "group" jsonb, ADD COLUMN group_key text NOT NULL DEFAULT '';
ALTER TABLE slo_records DROP CONSTRAINT slo_records_pkey;
ALTER TABLE slo_records ADD PRIMARY KEY (sli, group_key, at);

ALTER TABLE alert_records ADD COLUMN "group" jsonb, ADD COLUMN group_key text NOT NULL DEFAULT '';
ALTER TABLE alert_records DROP CONSTRAINT alert_records_pkey;
ALTER TABLE alert_records ADD PRIMARY KEY (sli, group_key, severity, at);

-- The views, per group as well: the newest state of every objective, and
-- the alerts firing now.
DROP VIEW slo_status;
CREATE VIEW slo_status AS
SELECT DISTINCT ON (sli, group_key) *
FROM slo_records
ORDER BY sli, group_key, at DESC;

DROP VIEW alerts_firing;
CREATE VIEW alerts_firing AS
SELECT *
FROM (
    SELECT DISTINCT ON (sli, group_key, severity) *
    FROM alert_records
    ORDER BY sli, group_key, severity, at DESC
) latest
WHERE state = 'firing';

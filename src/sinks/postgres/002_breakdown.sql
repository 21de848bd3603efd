-- Which values of an SLI's breakdown fields its bad events had.
ALTER TABLE window_records ADD COLUMN breakdown jsonb;

-- Fee bumping and coin selection: a session may replace another (RBF),
-- or pay for another's transaction with its change (CPFP); and records
-- which coin selection it chose and why.

-- +goose Up
ALTER TABLE sessions ADD COLUMN replaces TEXT REFERENCES sessions(id);
ALTER TABLE sessions ADD COLUMN parent TEXT REFERENCES sessions(id);
ALTER TABLE sessions ADD COLUMN selection TEXT NOT NULL DEFAULT '';

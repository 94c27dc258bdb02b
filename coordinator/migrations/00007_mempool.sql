-- Mempool transactions already examined, so a sync reads only new ones.
-- keys holds 8-byte hashes of the transaction's output scripts and spent
-- outpoints: when scripts or coins are added, only the transactions whose
-- keys match are read again.

-- +goose Up
CREATE TABLE mempool (
	txid TEXT PRIMARY KEY,
	ours INTEGER NOT NULL,
	keys BLOB NOT NULL
) WITHOUT ROWID;
-- The highest rowids of scripts and utxos when the mempool was last read.
CREATE TABLE mempool_marks (
	name TEXT PRIMARY KEY,
	rowid INTEGER NOT NULL
);

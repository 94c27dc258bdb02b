-- The schema of every store made before kinko had migrations (all of it
-- written as CREATE ... IF NOT EXISTS then, so on such a store this step
-- changes nothing and only starts the version count). The audit log's
-- table is migration 3, blocks.time migration 2: both Go steps, in
-- coordinator/migrate.go.

-- +goose Up
CREATE TABLE IF NOT EXISTS wallets (
	name TEXT PRIMARY KEY,
	descriptor TEXT NOT NULL,
	network TEXT NOT NULL,
	birthday INTEGER NOT NULL,
	scanned INTEGER NOT NULL,
	next_receive INTEGER NOT NULL DEFAULT 0,
	created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scripts (
	script BLOB PRIMARY KEY,
	wallet TEXT NOT NULL REFERENCES wallets(name),
	change INTEGER NOT NULL,
	idx INTEGER NOT NULL,
	used INTEGER NOT NULL DEFAULT 0,
	UNIQUE (wallet, change, idx)
);
CREATE TABLE IF NOT EXISTS blocks (
	height INTEGER PRIMARY KEY,
	hash TEXT NOT NULL,
	time INTEGER NOT NULL DEFAULT 0   -- the header's timestamp, Unix seconds
);
CREATE TABLE IF NOT EXISTS txs (
	txid TEXT PRIMARY KEY,
	raw BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS utxos (
	txid TEXT NOT NULL,
	vout INTEGER NOT NULL,
	wallet TEXT NOT NULL REFERENCES wallets(name),
	value INTEGER NOT NULL,
	script BLOB NOT NULL,
	change INTEGER NOT NULL,
	idx INTEGER NOT NULL,
	height INTEGER NOT NULL,          -- 0: in the mempool
	spent_txid TEXT,
	spent_height INTEGER,             -- NULL: unspent; 0: spent in the mempool
	session TEXT,                     -- reserved by this signing session
	PRIMARY KEY (txid, vout)
);
-- Covers the balance and treasury queries, which read every coin
-- of a wallet: no table lookup per coin.
DROP INDEX IF EXISTS utxos_wallet;
CREATE INDEX IF NOT EXISTS utxos_wallet_unspent ON utxos(wallet, spent_height, height, value, session, spent_txid);
CREATE TABLE IF NOT EXISTS sessions (
	id TEXT PRIMARY KEY,
	wallet TEXT NOT NULL REFERENCES wallets(name),
	created TEXT NOT NULL,
	state TEXT NOT NULL,
	txid TEXT NOT NULL,
	psbt BLOB NOT NULL,
	fee INTEGER NOT NULL,
	vsize INTEGER NOT NULL,
	final_tx BLOB,
	broadcast_txid TEXT,
	updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
	key TEXT PRIMARY KEY,
	value BLOB NOT NULL,
	updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS session_parts (
	session TEXT NOT NULL REFERENCES sessions(id),
	digest BLOB NOT NULL,
	psbt BLOB NOT NULL,
	imported TEXT NOT NULL,
	PRIMARY KEY (session, digest)
);

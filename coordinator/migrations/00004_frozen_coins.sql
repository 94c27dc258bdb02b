-- Coin control: coins the operator froze are never selected by a spend,
-- a sweep or a rebalance. Kept apart from utxos, by outpoint, so that a
-- coin a reorg takes away and brings back is still frozen.

-- +goose Up
CREATE TABLE frozen (
	txid TEXT NOT NULL,
	vout INTEGER NOT NULL,
	wallet TEXT NOT NULL REFERENCES wallets(name),
	since TEXT NOT NULL,
	PRIMARY KEY (txid, vout)
);

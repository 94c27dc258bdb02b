-- Labels (BIP-329): a label per transaction, address or output of a
-- wallet, from pay files, imports and the operator.
-- type: tx, addr or output; ref: a txid, an address, or txid:vout.

-- +goose Up
CREATE TABLE labels (
	wallet TEXT NOT NULL REFERENCES wallets(name),
	type TEXT NOT NULL,
	ref TEXT NOT NULL,
	label TEXT NOT NULL,
	PRIMARY KEY (wallet, type, ref)
);

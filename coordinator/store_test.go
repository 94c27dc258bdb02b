package coordinator_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kinko-project/kinko/coordinator"
)

// TestNewStoreMode checks that a new store, and the WAL SQLite keeps
// beside it, are readable by their owner only, and that an existing
// store keeps the mode its operator gave it.
func TestNewStoreMode(t *testing.T) {
	dir := t.TempDir()
	c, err := coordinator.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wallets(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{coordinator.DBName, coordinator.DBName + "-wal"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	c.Close()
	path := filepath.Join(dir, coordinator.DBName)
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	c, err = coordinator.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("an existing store's mode changed: %v %v", fi.Mode().Perm(), err)
	}
}

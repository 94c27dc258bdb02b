package coordinator_test

import (
	"sync"
	"testing"

	"github.com/kinko-project/kinko/coordinator"
)

// TestConcurrentFirstOpen opens one new data directory from several
// goroutines at once, as two kinko commands started together (a
// monitoring job and an operator's) would after an upgrade: every open
// succeeds, and the schema is made once.
func TestConcurrentFirstOpen(t *testing.T) {
	for round := range 10 {
		openAtOnce(t, round, t.TempDir())
	}
}

// TestConcurrentUpgrade opens an old store (testdata/v0-store) from
// several goroutines at once: every open succeeds and the store is what
// one upgrade makes of it.
func TestConcurrentUpgrade(t *testing.T) {
	dir := v0Store(t)
	openAtOnce(t, 0, dir)
	c, err := coordinator.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sameManifest(t, readManifest(t, c), wantManifest(t))
}

// openAtOnce opens dir from four goroutines at once, as four processes
// would (SQLite and the lock are per file, not per process), and fails
// the test if any open fails.
func openAtOnce(t *testing.T, round int, dir string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := coordinator.Open(dir)
			if err == nil {
				c.Close()
			}
			errs[g] = err
		}()
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Fatalf("round %d, opener %d: %v", round, g, err)
		}
	}
}

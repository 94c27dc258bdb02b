package signer

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// workers is the number of goroutines a run uses: n when positive, else
// GOMAXPROCS.
func workers(n int) int {
	if n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// forEach calls fn(i) for every i in [0, n) on up to w goroutines, and
// returns when all calls have. Once some fn(i) reports a failure, the
// indexes above the lowest failing one are skipped, since a caller that
// merges the results in order stops at the first failure and never reads
// them; every index below it is still done. fn must touch only what
// belongs to index i.
func forEach(n, w int, fn func(i int) (ok bool)) {
	w = min(w, n)
	if w <= 1 {
		for i := 0; i < n; i++ {
			if !fn(i) {
				return
			}
		}
		return
	}
	var next, stop atomic.Int64
	stop.Store(int64(n))
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				// Indexes are handed out in order and stop only falls,
				// so every later index is past it too.
				if i >= int64(n) || i > stop.Load() {
					return
				}
				if fn(int(i)) {
					continue
				}
				for {
					s := stop.Load()
					if i >= s || stop.CompareAndSwap(s, i) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
}

package coordinator

import (
	"github.com/kinko-project/kinko/wallet"
)

// A branch whose gap window moves again and again during a sync is being
// restored: its deposits are found block of scripts after block. From the
// second move on, lookahead keeps deriving the branch's next scripts on
// other goroutines while the scan goes on with the store, and hands them
// over when the window moves again. Nothing derived ahead is watched or
// stored before the gap limit calls for it, so the scripts watched, the
// coins found and their counts are those of deriving on demand; what a
// sync derived ahead and did not need is dropped. A window that moves once
// (a deposit near the gap) derives nothing ahead.

// Scripts are derived ahead in blocks of aheadBlock, doubling up to
// aheadMax, one block waiting and one under way at most: a sync derives at
// most some 1,500 scripts in vain (about 55 ms of one core for a 2-of-3
// wsh), and only for a branch whose window moved twice.
const (
	aheadBlock = scanLookahead
	aheadMax   = 512
)

type derivedScripts struct {
	spks [][]byte
	err  error
}

// lookahead derives one branch's scripts ahead of the scan.
type lookahead struct {
	d      *wallet.Descriptor
	change bool
	moves  int // calls of derive

	ready     [][]byte // derived and not yet handed over
	readyFrom uint32   // index of ready[0]
	// blocks brings the scripts after ready's, in order, from a
	// goroutine that stops when stop is closed.
	blocks chan derivedScripts
	stop   chan struct{}
}

// derive returns the scripts of indexes from..from+count-1, taking those
// derived ahead, and keeps the scripts after them being derived.
func (la *lookahead) derive(from, count uint32) ([][]byte, error) {
	la.moves++
	out := make([][]byte, 0, count)
	at := func() uint32 { return from + uint32(len(out)) }
	for uint32(len(out)) < count && la.readyFrom == at() {
		if len(la.ready) == 0 {
			if la.blocks == nil {
				break
			}
			r, ok := <-la.blocks
			if !ok || r.err != nil { // derive again below: it gives the error
				la.halt()
				break
			}
			la.ready = r.spks
		}
		n := min(count-uint32(len(out)), uint32(len(la.ready)))
		out = append(out, la.ready[:n]...)
		la.ready, la.readyFrom = la.ready[n:], la.readyFrom+n
	}
	if n := uint32(len(out)); n < count {
		more, err := deriveScripts(la.d, la.change, from+n, count-n)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	// What is derived ahead must follow on from here.
	if end := from + count; la.moves >= 2 && (la.readyFrom != end || la.blocks == nil) {
		la.halt()
		la.start(end)
	}
	return out, nil
}

// start derives, in the background, the scripts from index next on.
func (la *lookahead) start(next uint32) {
	la.ready, la.readyFrom = nil, next
	blocks := make(chan derivedScripts, 1)
	stop := make(chan struct{})
	la.blocks, la.stop = blocks, stop
	d, change := la.d, la.change
	go func() {
		defer close(blocks)
		for i, size := uint64(next), uint64(aheadBlock); i < 1<<31; i, size = i+size, min(2*size, aheadMax) {
			select {
			case <-stop:
				return
			default:
			}
			spks, err := deriveScripts(d, change, uint32(i), uint32(min(size, 1<<31-i)))
			select {
			case blocks <- derivedScripts{spks, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
}

// halt stops deriving ahead and drops what was derived.
func (la *lookahead) halt() {
	if la.stop != nil {
		close(la.stop)
	}
	la.blocks, la.stop, la.ready = nil, nil, nil
}

package coordinator

import (
	"github.com/kinko-project/kinko/wallet"
)

// A branch whose gap window moves during a sync is likely to move again:
// a restored wallet finds its deposits block of scripts after block. Once
// a branch's window has moved, lookahead derives the branch's next block
// of scripts on other goroutines while the scan goes on with the store,
// and hands them over when the window moves again. Nothing derived ahead
// is watched or stored before the gap limit calls for it, so the scripts
// watched, the coins found and their counts are those of deriving on
// demand; what a sync derived ahead and did not need is dropped.

// maxAhead bounds how many scripts a branch derives ahead: the work a sync
// may waste is at most that (some 50 ms of two cores).
const maxAhead = 2048

type derivedScripts struct {
	spks [][]byte
	err  error
}

// lookahead derives one branch's scripts ahead of the scan.
type lookahead struct {
	d      *wallet.Descriptor
	change bool
	size   uint32 // scripts of the next job; doubles up to maxAhead

	ready     [][]byte // derived and not yet handed over
	readyFrom uint32   // index of ready[0]
	job       chan derivedScripts
	jobFrom   uint32 // index of the job's first script, after ready's
}

// derive returns the scripts of indexes from..from+count-1, taking those
// derived ahead, and keeps the scripts after them being derived.
func (la *lookahead) derive(from, count uint32) ([][]byte, error) {
	out := make([][]byte, 0, count)
	take := func() {
		at := from + uint32(len(out))
		if len(la.ready) == 0 || la.readyFrom != at {
			return
		}
		n := min(count-uint32(len(out)), uint32(len(la.ready)))
		out = append(out, la.ready[:n]...)
		la.ready, la.readyFrom = la.ready[n:], at+n
	}
	take()
	if at := from + uint32(len(out)); uint32(len(out)) < count && la.job != nil && la.jobFrom == at {
		r := <-la.job
		la.job = nil
		if r.err == nil { // on error, derive again below: it gives the error
			la.ready, la.readyFrom = r.spks, at
			take()
		}
	}
	if n := uint32(len(out)); n < count {
		more, err := deriveScripts(la.d, la.change, from+n, count-n)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	// What is kept ahead must follow on from here.
	end := from + count
	if la.readyFrom != end {
		la.ready = nil
	}
	if la.job != nil && la.jobFrom != end+uint32(len(la.ready)) {
		la.job = nil
	}
	if la.job == nil {
		la.start(end + uint32(len(la.ready)))
	}
	return out, nil
}

// start derives, in the background, the next block of scripts from index
// next on.
func (la *lookahead) start(next uint32) {
	la.size = min(max(2*la.size, scanLookahead), maxAhead)
	if next >= 1<<31 {
		return
	}
	n := min(la.size, 1<<31-next)
	ch := make(chan derivedScripts, 1)
	la.job, la.jobFrom = ch, next
	d, change := la.d, la.change
	go func() {
		spks, err := deriveScripts(d, change, next, n)
		ch <- derivedScripts{spks, err}
	}()
}

package migration

import (
	"fmt"
	"sort"

	"github.com/poolmigrate/poolmigrate/dynamo"
)

// JournalState is what verify reports of one remap journal: whose share
// it holds and whether that share's last run finished.
type JournalState struct {
	Path string `json:"path"`
	// Worker is the share of a split remap ("1/3" of Segments segments);
	// empty for a remap of whole tables.
	Worker   string `json:"worker,omitempty"`
	Segments int    `json:"segments,omitempty"`
	// Finished is set when the last run reached its end; Changed, Failed
	// and Conflicts are that run's.
	Finished  bool  `json:"finished"`
	Changed   int64 `json:"changed"`
	Failed    int64 `json:"failed"`
	Conflicts int64 `json:"conflicts"`
}

// JournalStates reads what the journals found say of their runs, and
// notes what needs doing: a worker whose last run did not finish or left
// items, workers of a split with no journal here, workers that split the
// tables differently. Only the first and last record of each journal are
// read.
func JournalStates(paths []string) ([]JournalState, []string, error) {
	states := []JournalState{}
	notes := []string{}
	splits := map[int]map[int]bool{} // workers (M) -> worker numbers (K) found
	segments := map[int]bool{}
	for _, p := range paths {
		first, last, finished, err := dynamo.JournalRuns(p)
		if err != nil {
			return nil, nil, err
		}
		st := JournalState{Path: p, Finished: finished}
		name := "the remap"
		if first != nil && !first.Share.Whole() {
			st.Worker, st.Segments = first.Share.String(), first.Segments
			name = "worker " + st.Worker
			if splits[first.Share.Of] == nil {
				splits[first.Share.Of] = map[int]bool{}
			}
			splits[first.Share.Of][first.Share.Worker] = true
			segments[first.Segments] = true
		}
		if last != nil {
			st.Changed, st.Failed, st.Conflicts = last.Changed, last.Failed, last.Conflicts
		}
		switch {
		case !finished:
			notes = append(notes, fmt.Sprintf("%s (%s): the last run did not finish (interrupted, or still running): run it again", name, p))
		case st.Failed+st.Conflicts > 0:
			notes = append(notes, fmt.Sprintf("%s (%s): the last run left %d failed and %d changed items: run it again", name, p, st.Failed, st.Conflicts))
		}
		states = append(states, st)
	}
	if len(segments) > 1 {
		var ns []int
		for n := range segments {
			ns = append(ns, n)
		}
		sort.Ints(ns)
		notes = append(notes, fmt.Sprintf("the workers' journals split the tables into different numbers of segments (%v): segments may have been left to no worker", ns))
	}
	var ms []int
	for m := range splits {
		ms = append(ms, m)
	}
	sort.Ints(ms)
	if len(ms) > 1 {
		notes = append(notes, fmt.Sprintf("the workers' journals are of splits into %v workers: segments may have been left to no worker", ms))
	}
	for _, m := range ms {
		var missing []string
		for k := 0; k < m; k++ {
			if !splits[m][k] {
				missing = append(missing, fmt.Sprintf("%d/%d", k, m))
			}
		}
		if len(missing) > 0 {
			notes = append(notes, fmt.Sprintf("no journal here of worker %v (it ran on another machine, or never ran; the tables' scan above is what counts)", missing))
		}
	}
	return states, notes, nil
}

package dynamo

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// RemapTables rewrites the attributes each spec names in its table, with
// rw, as one journaled run: the unfinished runs' standing writes are read
// first (a write made again voids theirs, and items journaled twice are
// settled), the run is opened with a "start" record naming its share and
// tables and closed with an "end" record of what it did. The tables are
// remapped at the same time, sharing o.Workers writes in flight, so no
// table's scan start or last writes leave the others' budget idle. A
// worker's journal (o.Share) refuses a run with another split. Without a
// journal (a dry run) it only remaps.
//
// Owner fields (migration.Remap, with the user map) and identity-id fields
// (storage/idfield, with a ValueMap) both run through here.
func RemapTables(ctx context.Context, api TableAPI, specs []Spec, rw Rewriter, o RemapOptions) ([]TableResult, error) {
	if o.Segments <= 0 {
		o.Segments = 4
	}
	results := make([]TableResult, len(specs))
	tables := make([]string, len(specs))
	for i, s := range specs {
		tables[i] = s.Table
	}
	if o.Journal != nil {
		var err error
		if o.Unsettled, err = ReadUnsettled(o.Journal.Path()); err != nil {
			return results, err
		}
		if err := startRun(o, tables); err != nil {
			return results, err
		}
		if err := o.Unsettled.Reconcile(ctx, api, o.Journal); err != nil {
			return results, err
		}
	}
	if o.Workers <= 0 {
		o.Workers = 32
	}
	o.Slots = make(chan struct{}, o.Workers)
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Add(1)
		go func(i int, s Spec) {
			defer wg.Done()
			results[i], errs[i] = RemapTable(ctx, api, s, rw, o)
		}(i, s)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return results, err
		}
	}
	if o.Journal != nil {
		end := RunInfo{Time: time.Now().UTC(), Segments: o.Segments, Share: o.Share}
		for _, t := range results {
			end.Changed, end.Failed, end.Conflicts = end.Changed+t.Changed, end.Failed+t.Failed, end.Conflicts+t.Conflicts
		}
		if _, err := o.Journal.Append(JournalRecord{Kind: "end", Run: &end}); err != nil {
			return results, err
		}
	}
	return results, nil
}

// startRun checks that a worker's journal was started by the same split,
// and records the run's start.
func startRun(o RemapOptions, tables []string) error {
	first := o.Journal.FirstRun()
	if first != nil && !o.Share.Whole() && (first.Segments != o.Segments || first.Share != o.Share) {
		return fmt.Errorf("the journal %s was started by worker %s of %d segments: run this worker again with --segments %d --worker %s (another split would leave some segments to no worker and others to two), or roll it back first",
			o.Journal.Path(), first.Share, first.Segments, first.Segments, first.Share)
	}
	_, err := o.Journal.Append(JournalRecord{Kind: "start", Run: &RunInfo{Time: time.Now().UTC(), Segments: o.Segments, Share: o.Share, Tables: tables}})
	return err
}

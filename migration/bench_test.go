package migration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// BenchmarkIdentityMap builds what remap and verify hold for a whole pool
// — the target's migrated users and the old→new identity map — for 100k
// and 1M generated users (POOLMIGRATE_BENCH_USERS=10000000 adds 10M), and
// reports the live heap it takes after a GC, next to the maps the compact
// form replaced, built in the same run, and the cost of one lookup. Run:
//
//	go test ./migration -run '^$' -bench IdentityMap -benchtime 1x
func BenchmarkIdentityMap(b *testing.B) {
	sizes := []int{100_000, 1_000_000}
	if v, err := strconv.Atoi(os.Getenv("POOLMIGRATE_BENCH_USERS")); err == nil && v > 0 {
		sizes = append(sizes, v)
	}
	for _, n := range sizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			pool := testenv.SynthPool{N: n}
			path := filepath.Join(b.TempDir(), "backup.jsonl")
			if _, _, err := cognito.Backup(context.Background(), pool, cognito.BackupOptions{PoolID: "us-east-1_Synth", Out: path}); err != nil {
				b.Fatal(err)
			}
			newSub := func(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(i)*2654435761, i) }
			target := func(i int) cognito.TargetUser {
				return cognito.TargetUser{Sub: newSub(i), Username: fmt.Sprintf("user%07d@example.com", i), Enabled: true, Status: "RESET_REQUIRED"}
			}
			for it := 0; it < b.N; it++ {
				base := liveHeap()
				stop := make(chan struct{})
				peak := testenv.PeakHeap(stop)
				started := time.Now()
				spill := b.TempDir() // as remap does: the records in files
				bld, err := cognito.NewMigratedBuilder(spill)
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < n; i++ {
					if err := bld.Add(pool.Sub(i), target(i)); err != nil {
						b.Fatal(err)
					}
				}
				migrated, err := bld.Build()
				if err != nil {
					b.Fatal(err)
				}
				m, err := BuildSubMap(path, migrated, spill)
				if err != nil {
					b.Fatal(err)
				}
				files := dirSize(spill)
				build := time.Since(started)
				close(stop)
				compact := liveHeap() - base

				// Every user's sub and username, looked up as remap does.
				started = time.Now()
				for i := 0; i < n; i++ {
					if v, st := m.Rewrite("sub::username", pool.Sub(i)+"::"+fmt.Sprintf("user%07d", i)); st != dynamo.ValueChanged || v != newSub(i)+"::"+target(i).Username {
						b.Fatalf("user %d: %q %v", i, v, st)
					}
				}
				lookup := time.Since(started) / time.Duration(n)
				runtime.KeepAlive(m)
				m.Close()
				migrated.Close()
				m = nil

				// The maps remap used to hold: old sub -> target user, and
				// the identity map's four maps (up to 1M users: above, they
				// take gigabytes).
				var before uint64
				if n <= 1_000_000 {
					base = liveHeap()
					maps := oldMaps(pool, n, target)
					before = liveHeap() - base
					runtime.KeepAlive(maps)
				}

				b.ReportMetric(float64(compact)/(1<<20), "MiB-live")
				b.ReportMetric(float64(files)/float64(n), "file-B/user")
				b.ReportMetric(float64(peak.Load()-base)/(1<<20), "MiB-peak")
				b.ReportMetric(float64(before)/(1<<20), "MiB-maps-before")
				b.ReportMetric(float64(lookup.Nanoseconds()), "ns/lookup")
				b.ReportMetric(build.Seconds(), "s-build")
			}
		})
	}
}

// oldMaps builds the structures of the map-based identity map this
// package had before, for the comparison.
func oldMaps(pool testenv.SynthPool, n int, target func(int) cognito.TargetUser) []any {
	type identity struct{ OldSub, OldUsername, NewSub, NewUsername string }
	migrated := make(map[string]cognito.TargetUser)
	byOldSub, byOldUsername := map[string]*identity{}, map[string]*identity{}
	newSubs, newUsernames := map[string]bool{}, map[string]bool{}
	for i := 0; i < n; i++ {
		tu := target(i)
		migrated[pool.Sub(i)] = tu
		id := &identity{OldSub: pool.Sub(i), OldUsername: fmt.Sprintf("user%07d", i), NewSub: tu.Sub, NewUsername: tu.Username}
		byOldSub[id.OldSub], byOldUsername[id.OldUsername] = id, id
		newSubs[tu.Sub], newUsernames[tu.Username] = true, true
	}
	return []any{migrated, byOldSub, byOldUsername, newSubs, newUsernames}
}

func dirSize(dir string) int64 {
	var total int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			total += fi.Size()
		}
	}
	return total
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

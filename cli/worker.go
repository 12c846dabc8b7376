package cli

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/poolmigrate/poolmigrate/dynamo"
	"github.com/poolmigrate/poolmigrate/statedir"
)

// workerIndexVars are the variables an engine that runs workers sets to
// each one's index, counting from 0 as --worker K/M does: a Kubernetes
// Indexed Job's pods (JOB_COMPLETION_INDEX, 0 … completions-1) and an AWS
// Batch array job's children (AWS_BATCH_JOB_ARRAY_INDEX, 0 … size-1).
var workerIndexVars = []string{"JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"}

// parseWorker reads --worker K/M, or auto/M with K from the engine's index
// variable.
func parseWorker(s string, getenv func(string) string) (dynamo.Share, error) {
	k, m, ok := strings.Cut(s, "/")
	if !ok || k != "auto" {
		return dynamo.ParseShare(s)
	}
	of, err := strconv.Atoi(m)
	if err != nil || of < 1 {
		return dynamo.Share{}, fmt.Errorf("--worker %s: want auto/M, M the number of workers (auto/3 on each of three)", s)
	}
	var name, index string
	for _, v := range workerIndexVars {
		if val := strings.TrimSpace(getenv(v)); val != "" {
			if name != "" && val != index {
				return dynamo.Share{}, fmt.Errorf("--worker %s: %s=%s and %s=%s disagree: set only the one of the engine the worker runs on", s, name, index, v, val)
			}
			name, index = v, val
		}
	}
	if name == "" {
		return dynamo.Share{}, fmt.Errorf("--worker %s: neither %s (a Kubernetes Indexed Job's pods have it) nor %s (an AWS Batch array job's) is set: run it as one of those, or say --worker K/M (K from 0)", s, workerIndexVars[0], workerIndexVars[1])
	}
	w, err := strconv.Atoi(index)
	if err != nil || w < 0 || w >= of {
		return dynamo.Share{}, fmt.Errorf("--worker %s: %s=%s is not a worker of %d (0 to %d): give the Job as many completions (Kubernetes) or the array job as many children (Batch) as M, or M as many as they are", s, name, index, of, of-1)
	}
	return dynamo.Share{Worker: w, Of: of}, nil
}

// remapJournalDir is the folder of a remap's journals: --journal-dir, or
// the state folder's remap/.
func remapJournalDir(flag, stateDir string) (string, error) {
	if flag == "" {
		return filepath.Join(stateDir, "remap"), nil
	}
	dir, err := filepath.Abs(flag)
	if err != nil {
		return "", fmt.Errorf("--journal-dir %s: %w", flag, err)
	}
	return dir, nil
}

// lockJournals takes the locks of a remap's journals for a verify or a
// rollback: every journal of pool in dir (those of runs that have not yet
// written one too: a lock file names them), so neither reads a journal a
// remap is writing.
func lockJournals(dir, pool, command string) (*statedir.Locks, error) {
	seen := map[string]bool{}
	var files []string
	for _, j := range poolJournals(dir, pool) {
		seen[j], files = true, append(files, j)
	}
	locks, _ := filepath.Glob(filepath.Join(dir, "*.journal.jsonl.lock"))
	for _, l := range locks {
		j := strings.TrimSuffix(l, ".lock")
		if p := journalName.FindStringSubmatch(filepath.Base(j)); p != nil && p[1] == pool && !seen[j] {
			seen[j], files = true, append(files, j)
		}
	}
	return statedir.LockFiles(files, command)
}

// remapCommandLine is how a remap names itself in its lock, for the runs
// it refuses.
func remapCommandLine(f *remapFlags) string {
	if f.share.Whole() {
		return "remap --target-pool " + f.target
	}
	return fmt.Sprintf("remap --target-pool %s --worker %s", f.target, f.share)
}

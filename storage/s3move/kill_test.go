package s3move

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// childEnv carries a killed copy's configuration to the test binary
// run as a child.
const childEnv = "POOLMIGRATE_S3MOVE_CHILD"

type childConfig struct {
	Bucket, Journal, Log string
	Templates            []string
	Moves                []Move
	Threshold, PartSize  int64
	Workers              int
}

// made logs each object a call created (CopyObject and
// CompleteMultipartUpload that succeeded), one line each.
type made struct {
	API
	mu sync.Mutex
	f  *os.File
}

func (m *made) log(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.f.WriteString(key + "\n")
}

func (m *made) CopyObject(ctx context.Context, in *s3.CopyObjectInput, f ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	out, err := m.API.CopyObject(ctx, in, f...)
	if err == nil {
		m.log(*in.Key)
	}
	return out, err
}

func (m *made) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, f ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	out, err := m.API.CompleteMultipartUpload(ctx, in, f...)
	if err == nil {
		m.log(*in.Key)
	}
	return out, err
}

// runChild is the copy a child process runs, killed by its fault point.
func runChild(t *testing.T, cfgJSON string) {
	var cfg childConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(cfg.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	api := &made{API: testenv.S3Client(t), f: f}
	_, err = Copy(context.Background(), api, Options{Bucket: cfg.Bucket, Templates: mustTemplates(t, cfg.Templates...), Moves: cfg.Moves,
		Journal: cfg.Journal, Workers: cfg.Workers, MultipartThreshold: cfg.Threshold, PartSize: cfg.PartSize})
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
}

// A copy killed (SIGKILL) at each step of a copy — journaled and not yet
// sent, made and not yet journaled done, a multipart copy's parts made
// and not yet completed — resumes without making any object twice, ends
// with every copy made and verified, and rolls back exactly, leaving no
// multipart upload open. With one worker every object is made exactly
// once; with four, the copies in flight when the process dies are made
// or not, and a resume makes only those that were not.
func TestCopyResumesAfterKill(t *testing.T) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		runChild(t, cfg)
		return
	}
	bin := filepath.Join(t.TempDir(), "s3move.test")
	if out, err := exec.Command("go", "test", "-c", "-tags", "faultinject", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go test -c -tags faultinject: %v\n%s", err, out)
	}
	t.Run("one worker", func(t *testing.T) { testResumeAfterKill(t, bin, 1) })
	t.Run("four workers", func(t *testing.T) { testResumeAfterKill(t, bin, 4) })
}

func testResumeAfterKill(t *testing.T, bin string, workers int) {
	b := newBed(t)
	// One worker goes through the objects in order, so each kill point is
	// reached; four go through up to three more objects a run, so they
	// get more objects and no multipart step to wait for.
	files, kills := 6, []string{"journaled:3", "copied:4", "parts:1", "copied:1", "journaled:1", ""}
	if workers > 1 {
		files, kills = 20, []string{"journaled:3", "copied:4", "journaled:2", "copied:2", ""}
	}
	moves, want := plantUsers(b, 3, files)
	for _, m := range moves[:2] {
		key := "private/" + m.Old + "/video.mp4"
		b.put(testenv.S3Object{Key: key, Body: content(key, 7<<20)})
		want["private/"+m.New+"/video.mp4"] = key
	}
	before := b.snapshot()
	dir := t.TempDir()
	cfg := childConfig{Bucket: b.bucket, Journal: filepath.Join(dir, "copy.journal.jsonl"), Log: filepath.Join(dir, "made.log"),
		Templates: []string{"private/{entity_id}/", "protected/{entity_id}/"}, Moves: moves, Threshold: 6 << 20, PartSize: MinPartSize, Workers: workers}
	cfgJSON, _ := json.Marshal(cfg)
	for _, at := range kills {
		cmd := exec.Command(bin, "-test.run=^TestCopyResumesAfterKill$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+string(cfgJSON), "POOLMIGRATE_TEST_S3_KILL_AT="+at)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		killed := errors.As(err, &ee) && strings.Contains(string(out), "fault injection: killed at")
		switch {
		case at == "" && err != nil:
			t.Fatalf("the last run: %v\n%s", err, out)
		case at != "" && !killed:
			t.Fatalf("the run to kill at %s was not killed there: %v\n%s", at, err, out)
		}
	}
	// Each object was made once, whatever run made it.
	f, err := os.Open(cfg.Log)
	if err != nil {
		t.Fatal(err)
	}
	times := map[string]int{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		times[sc.Text()]++
	}
	f.Close()
	for dest := range want {
		if times[dest] > 1 || (workers == 1 && times[dest] != 1) {
			t.Errorf("%s made %d times", dest, times[dest])
		}
	}
	checkCopies(t, b, before, b.snapshot(), want)
	done := map[string]int{}
	copies := map[int64]string{}
	if err := ReadJournal(cfg.Journal, func(r Record) error {
		switch r.Kind {
		case "copy":
			copies[r.Seq] = r.Dest
		case "done":
			done[copies[r.Ref]]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for dest := range want {
		if done[dest] != 1 {
			t.Errorf("%s journaled done %d times", dest, done[dest])
		}
	}
	ts := mustTemplates(t, cfg.Templates...)
	v, err := Verify(context.Background(), b.c, VerifyOptions{Bucket: b.bucket, Templates: ts, Moves: moves, Journals: []string{cfg.Journal}})
	if err != nil || !v.OK() {
		t.Errorf("verify: %v %+v", err, v)
	}
	rb, err := Rollback(context.Background(), b.c, cfg.Journal, RollbackOptions{})
	if err != nil || rb.Deleted != len(want) {
		t.Errorf("rollback: %v %+v, want %d deleted", err, rb, len(want))
	}
	if after := b.snapshot(); len(after) != len(before) {
		t.Errorf("after rollback %d objects, before %d", len(after), len(before))
	}
	checkCopies(t, b, before, b.snapshot(), nil)
	ups, err := b.c.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &b.bucket})
	if err != nil || len(ups.Uploads) != 0 {
		t.Errorf("multipart uploads left open: %v %d", err, len(ups.Uploads))
	}
}

package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/linefile"
	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// rollback --journal given a folder (it used to undo nothing, exit 0 and
// rename the folder *.rolled-back) refuses it before touching anything.
func TestRollbackRefusesAFolder(t *testing.T) {
	testenv.Require(t) // the old code got as far as DynamoDB; this one must not
	dir := t.TempDir()
	folder := filepath.Join(dir, "us-east-1_New.journal.jsonl")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	_, _, err := runApp(t, dir, nil, "rollback", "--journal", folder, "--yes", "--region", "us-east-1")
	if !errors.Is(err, linefile.ErrNotRegular) || !strings.Contains(err.Error(), folder) {
		t.Errorf("rollback of a folder: %v", err)
	}
	if fi, err := os.Stat(folder); err != nil || !fi.IsDir() {
		t.Errorf("the folder was moved: %v", err)
	}
}

// Declining the rollback prompt says what was declined.
func TestRollbackDeclinedSaysRollback(t *testing.T) {
	testenv.Require(t)
	dir := t.TempDir()
	journal := filepath.Join(dir, "us-east-1_New.journal.jsonl")
	rec := `{"seq":1,"table":"Todo-abc-dev","kind":"update","key":{"id":{"S":"1"}},"before":{"owner":{"S":"old"}},"after":{"owner":{"S":"new"}},"changed":["owner"]}`
	if err := os.WriteFile(journal, []byte(rec+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runAppIn(t, dir, strings.NewReader("n\n"), "rollback", "--journal", journal, "--region", "us-east-1")
	if err == nil || strings.Contains(err.Error(), "import") || !strings.Contains(err.Error(), "rollback not confirmed: nothing was undone") {
		t.Errorf("declined: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(journal); err != nil {
		t.Errorf("the journal was renamed: %v", err)
	}
}

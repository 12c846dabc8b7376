package amplifygen2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// A resource file's code runs in a child process: the same binary,
// started with evaluatorArg, which any binary linking this package
// answers (the poolmigrate command and every test binary alike). goja's
// interrupt stops JavaScript between instructions but not inside a
// built-in, so `new Array(2**32-1).fill(0)` or `"x".repeat(2**30)` grew
// the process to 4-6 GB; in the child, a hard address-space limit
// (RLIMIT_AS) ends such a file with an out-of-memory death, and the
// parent kills a child that outlives the timeout. (RLIMIT_DATA does not
// hold Go: the kernel does not count the heap it maps over its own
// PROT_NONE reservations. Go's soft limit, debug.SetMemoryLimit, only
// makes the collector work harder.)
const evaluatorArg = "__poolmigrate-gen2-evaluate"

var (
	// evalMemory is how much the child's address space may grow once it
	// has started: its memory limit. The heap is mapped as it grows, so
	// the resident memory grows no more than this.
	evalMemory int64 = 768 << 20
	// evalKillGrace is how long after evalTimeout the parent waits for
	// the child to report its own timeout (with the line it stopped at)
	// before it kills it.
	evalKillGrace = 5 * time.Second
	// maxRecordSize bounds what a run may record.
	maxRecordSize = 64 << 20
)

func init() {
	if len(os.Args) == 2 && os.Args[1] == evaluatorArg {
		os.Exit(evaluatorMain(os.Stdin, os.Stdout, os.Stderr))
	}
}

// evalRequest is what the parent sends the child on its standard input.
type evalRequest struct {
	File    string        `json:"file"`
	JS      string        `json:"js"`
	Timeout time.Duration `json:"timeout"`
	Memory  int64         `json:"memory"`
}

// Exit codes of the evaluator.
const (
	exitRefused = 3 // the file failed: the message is on stderr
)

// evaluatorMain is the child: it limits its own memory first, then runs
// the bundle it is sent and writes what it recorded to stdout.
func evaluatorMain(stdin io.Reader, stdout, stderr io.Writer) int {
	var req evalRequest
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		fmt.Fprintf(stderr, "read the evaluation request: %v", err)
		return 1
	}
	if req.Memory > 0 {
		if err := limitMemory(req.Memory); err != nil {
			fmt.Fprintf(stderr, "limit the evaluator's memory: %v", err)
			return 1
		}
	}
	out, err := run(req.File, req.JS, req.Timeout)
	if err == nil && len(out) > maxRecordSize {
		err = fmt.Errorf("record %s: it declares more than %d MiB", req.File, maxRecordSize>>20)
	}
	if err != nil {
		fmt.Fprint(stderr, err)
		return exitRefused
	}
	_, _ = stdout.Write(out)
	return 0
}

// runIsolated runs the bundle js of file in a child evaluator and
// returns what it recorded.
func runIsolated(file, js string) ([]byte, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("run %s: find poolmigrate's own executable to evaluate it in: %w", file, err)
	}
	req, err := json.Marshal(evalRequest{File: file, JS: js, Timeout: evalTimeout, Memory: evalMemory})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), evalTimeout+evalKillGrace)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, evaluatorArg)
	// Nothing of the user's environment (AWS credentials above all)
	// reaches the child; the file's code sees process.env as {} anyway.
	cmd.Env = []string{"GOTRACEBACK=none"}
	cmd.Dir = os.TempDir()
	cmd.Stdin = bytes.NewReader(req)
	stdout := &cappedBuffer{max: maxRecordSize}
	stderr := &cappedBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	msg := strings.TrimSpace(stderr.String())
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout.Bytes(), nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("run %s: it ran longer than %s and was stopped; a resource file must only declare the backend: remove the loop or long computation there and run again", file, evalTimeout)
	case errors.As(err, &exit) && exit.ExitCode() == exitRefused:
		return nil, errors.New(msg)
	case strings.Contains(msg, "out of memory") || strings.Contains(msg, "cannot allocate memory"):
		return nil, fmt.Errorf("run %s: it needed more than %d MiB of memory and was stopped; a resource file must only declare the backend: remove the large computation there and run again", file, evalMemory>>20)
	default:
		if msg != "" {
			err = fmt.Errorf("%w: %s", err, firstLine(msg))
		}
		return nil, fmt.Errorf("run %s: the evaluator failed: %w", file, err)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// cappedBuffer keeps the first max bytes written to it and drops the
// rest, so a child cannot fill the parent's memory.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}

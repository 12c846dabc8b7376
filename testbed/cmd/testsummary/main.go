// Command testsummary reads `go test -json` on stdin and prints what `go
// test` prints without -v (each package's result, and the output of the
// tests that failed), then a summary: how many tests passed, failed and
// were skipped, and why each skip happened. It fails when a test failed,
// when a package failed without a failing test (a build error, a crash, a
// time-out), when nothing ran, and when a test skipped that the allow-list
// does not name: a run that must be complete cannot pass by skipping.
//
//	go test -json ./... | go run ./testbed/cmd/testsummary -allow scripts/allowed-skips.txt [-skipped-to FILE] [-also FILE]...
//
// -also adds the events of another go test -json run, saved to FILE (one
// that ran beside the one on stdin), once stdin ends; a FILE that is
// missing or holds no test result fails the run.
//
// The allow-list has one test a line: its package, its name and the
// reason it may skip; blank lines and lines starting with # are ignored.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time       time.Time
	Action     string
	Package    string
	ImportPath string
	Test       string
	Elapsed    float64
	Output     string
}

type testKey struct{ pkg, test string }

// skip is a skipped test and the reason it printed.
type skip struct {
	testKey
	reason  string
	allowed string // the allow-list's reason, if it names the test
}

type summary struct {
	out     io.Writer
	allow   map[testKey]string
	buffers map[testKey][]string // output of tests still running
	passed, failed,
	skipped int
	skips        []skip
	failedTests  []testKey
	failedPkgs   []string
	buildFailed  map[string]bool
	failingTests map[string]int // package -> failed tests
}

func newSummary(out io.Writer, allow map[testKey]string) *summary {
	return &summary{out: out, allow: allow, buffers: map[testKey][]string{}, buildFailed: map[string]bool{}, failingTests: map[string]int{}}
}

func (s *summary) add(e event) {
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.out, e.Output)
		return
	case "build-fail":
		s.buildFailed[e.ImportPath] = true
		return
	}
	if e.Test == "" {
		s.addPackage(e)
		return
	}
	k := testKey{e.Package, e.Test}
	switch e.Action {
	case "output":
		if !strings.HasPrefix(e.Output, "=== ") { // RUN, PAUSE, CONT: -v's noise
			s.buffers[k] = append(s.buffers[k], e.Output)
		}
	case "pass":
		s.passed++
		delete(s.buffers, k)
	case "fail":
		s.failed++
		s.failingTests[e.Package]++
		s.failedTests = append(s.failedTests, k)
		for _, l := range s.buffers[k] {
			fmt.Fprint(s.out, l)
		}
		delete(s.buffers, k)
	case "skip":
		s.skipped++
		sk := skip{testKey: k, reason: skipReason(s.buffers[k])}
		sk.allowed = s.allow[k]
		s.skips = append(s.skips, sk)
		if sk.allowed == "" {
			for _, l := range s.buffers[k] {
				fmt.Fprint(s.out, l)
			}
		}
		delete(s.buffers, k)
	}
}

func (s *summary) addPackage(e event) {
	switch e.Action {
	case "output":
		if o := e.Output; o != "PASS\n" && o != "FAIL\n" && !strings.HasPrefix(o, "=== ") {
			fmt.Fprint(s.out, o)
		}
	case "fail":
		s.failedPkgs = append(s.failedPkgs, e.Package)
		// A crash or a time-out ends the package with tests still running:
		// their output is the story.
		for k, lines := range s.buffers {
			if k.pkg == e.Package {
				fmt.Fprintf(s.out, "--- %s did not finish:\n", k.test)
				for _, l := range lines {
					fmt.Fprint(s.out, l)
				}
				delete(s.buffers, k)
			}
		}
	}
}

// skipReason is the last line a skipped test printed before its
// "--- SKIP" line: the message given to Skip.
func skipReason(lines []string) string {
	reason := ""
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		reason = t
	}
	return reason
}

// finish prints the summary and says whether the run may pass.
func (s *summary) finish() error {
	var problems []string
	fmt.Fprintf(s.out, "\n%d tests: %d passed, %d failed, %d skipped\n", s.passed+s.failed+s.skipped, s.passed, s.failed, s.skipped)
	sort.Slice(s.skips, func(i, j int) bool {
		return s.skips[i].pkg+" "+s.skips[i].test < s.skips[j].pkg+" "+s.skips[j].test
	})
	unexpected := 0
	for _, sk := range s.skips {
		if sk.allowed != "" {
			fmt.Fprintf(s.out, "  skipped %s %s (allowed: %s)\n", sk.pkg, sk.test, sk.allowed)
			continue
		}
		unexpected++
		fmt.Fprintf(s.out, "  SKIPPED %s %s: %s\n", sk.pkg, sk.test, sk.reason)
	}
	if unexpected > 0 {
		problems = append(problems, fmt.Sprintf("%d tests skipped that the allow-list does not name", unexpected))
	}
	for _, k := range s.failedTests {
		fmt.Fprintf(s.out, "  FAILED %s %s\n", k.pkg, k.test)
	}
	if s.failed > 0 {
		problems = append(problems, fmt.Sprintf("%d tests failed", s.failed))
	}
	for _, p := range s.failedPkgs {
		if s.failingTests[p] == 0 {
			problems = append(problems, "package "+p+" failed without a failing test (a build error, a crash or a time-out: see above)")
		}
	}
	for p := range s.buildFailed {
		problems = append(problems, "package "+p+" did not build")
	}
	if s.passed == 0 {
		problems = append(problems, "no test passed")
	}
	fmt.Fprintf(s.out, "Skipped tests: %d\n", s.skipped)
	if len(problems) > 0 {
		sort.Strings(problems)
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func readAllowList(path string) (map[testKey]string, error) {
	allow := map[testKey]string{}
	if path == "" {
		return allow, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("%s:%d: want a package, a test and the reason it may skip", path, i+1)
		}
		allow[testKey{f[0], f[1]}] = strings.Join(f[2:], " ")
	}
	return allow, nil
}

func run(in io.Reader, also []string, out io.Writer, allowPath, skippedTo string) error {
	allow, err := readAllowList(allowPath)
	if err != nil {
		return err
	}
	s := newSummary(out, allow)
	if _, err := s.read(in); err != nil {
		return err
	}
	var missing []string
	for _, path := range also {
		f, err := os.Open(path)
		if err != nil {
			missing = append(missing, fmt.Sprintf("the other run's results: %v", err))
			continue
		}
		results, err := s.read(f)
		f.Close()
		if err != nil {
			return err
		}
		if results == 0 {
			missing = append(missing, "the other run's results in "+path+" hold no test result")
		}
	}
	err = s.finish()
	if len(missing) > 0 {
		err = errors.Join(append([]error{err}, errors.New(strings.Join(missing, "; ")))...)
	}
	if skippedTo != "" {
		if werr := os.WriteFile(skippedTo, []byte(fmt.Sprintln(s.skipped)), 0o644); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}

// read adds the events of one go test -json stream; results counts the
// tests and packages that ended (passed, failed or skipped).
func (s *summary) read(in io.Reader) (results int, err error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// go test prints some failures (a package that does not
			// compile, in older Go) as plain text.
			fmt.Fprintln(s.out, sc.Text())
			continue
		}
		switch e.Action {
		case "pass", "fail", "skip", "build-fail":
			results++
		}
		s.add(e)
	}
	return results, sc.Err()
}

// files is a repeatable flag.
type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	allowPath := flag.String("allow", "", "the allow-list of tests that may skip, with reasons")
	skippedTo := flag.String("skipped-to", "", "write the number of skipped tests to this file")
	var also files
	flag.Var(&also, "also", "a saved go test -json run to add once stdin ends (repeatable)")
	flag.Parse()
	if err := run(os.Stdin, also, os.Stdout, *allowPath, *skippedTo); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
}

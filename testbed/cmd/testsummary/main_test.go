package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	allow := filepath.Join(t.TempDir(), "allow")
	if err := os.WriteFile(allow, []byte("# comment\n\nx TestS  the widget is not in this clone\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	passing := `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Output":"PASS\n"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}
{"Action":"pass","Package":"p","Elapsed":0.1}
`
	cases := map[string]struct {
		input, allow string
		errs         []string // what the error must say; none: the run passes
		out          []string // what the output must say
	}{
		"all pass": {input: passing, out: []string{"ok  \tp\t0.1s", "1 tests: 1 passed, 0 failed, 0 skipped", "Skipped tests: 0"}},
		"a skip not on the list": {input: "testdata/mixed.jsonl", errs: []string{"1 tests skipped that the allow-list does not name", "2 tests failed"},
			out: []string{"SKIPPED x TestS: x_test.go:4: the widget is missing", "x_test.go:5: boom", "Skipped tests: 1", "FAILED x TestF/sub"}},
		"a skip on the list": {input: "testdata/mixed.jsonl", allow: allow, errs: []string{"2 tests failed"},
			out: []string{"skipped x TestS (allowed: the widget is not in this clone)", "Skipped tests: 1"}},
		"a time-out":                         {input: "testdata/timeout.jsonl", errs: []string{"package x failed without a failing test", "no test passed"}, out: []string{"TestHang did not finish", "panic: test timed out after 1s"}},
		"a build failure":                    {input: "testdata/buildfail.jsonl", errs: []string{"package x [x.test] did not build", "package x failed without a failing test"}, out: []string{"undefined: undefined"}},
		"nothing ran":                        {input: "", errs: []string{"no test passed"}},
		"only a skip":                        {input: `{"Action":"skip","Package":"p","Test":"TestA"}` + "\n", allow: allow, errs: []string{"no test passed", "1 tests skipped"}},
		"an allowed name in another package": {input: strings.ReplaceAll(passing, "TestA", "TestS") + `{"Action":"skip","Package":"q","Test":"TestS"}` + "\n", allow: allow, errs: []string{"1 tests skipped that the allow-list does not name"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			in := c.input
			if strings.HasPrefix(in, "testdata/") {
				data, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				in = string(data)
			}
			var out bytes.Buffer
			count := filepath.Join(t.TempDir(), "skipped")
			err := run(strings.NewReader(in), nil, &out, c.allow, count)
			if data, rerr := os.ReadFile(count); rerr != nil || strings.TrimSpace(string(data)) != fmt.Sprint(strings.Count(in, `"Action":"skip"`)) {
				t.Errorf("the skipped count written: %q %v", data, rerr)
			}
			if len(c.errs) == 0 && err != nil {
				t.Errorf("run: %v\n%s", err, out.String())
			}
			if len(c.errs) > 0 && err == nil {
				t.Errorf("run passed; want %q\n%s", c.errs, out.String())
			}
			for _, want := range c.errs {
				if err != nil && !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			for _, want := range c.out {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output does not say %q:\n%s", want, out.String())
				}
			}
			if strings.Contains(out.String(), "=== RUN") {
				t.Errorf("-v's RUN lines in the output:\n%s", out.String())
			}
		})
	}
}

func TestAllowListNeedsReasons(t *testing.T) {
	allow := filepath.Join(t.TempDir(), "allow")
	if err := os.WriteFile(allow, []byte("x TestS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(strings.NewReader(""), nil, &bytes.Buffer{}, allow, ""); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("an entry without a reason: %v", err)
	}
}

// TestAlsoAddsTheOtherRun: the events of a run saved beside the one on
// stdin count as if they had come on stdin; a saved run that is missing or
// holds no result fails the summary.
func TestAlsoAddsTheOtherRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pass := func(pkg, test string) string {
		return fmt.Sprintf(`{"Action":"run","Package":%[1]q,"Test":%[2]q}
{"Action":"pass","Package":%[1]q,"Test":%[2]q}
{"Action":"pass","Package":%[1]q,"Elapsed":0.1}
`, pkg, test)
	}
	mixed, err := os.ReadFile("testdata/mixed.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		also []string
		errs []string
		out  string
	}{
		"both pass":              {also: []string{write("ok.json", pass("q", "TestB"))}, out: "2 tests: 2 passed, 0 failed, 0 skipped"},
		"the other run fails":    {also: []string{write("mixed.json", string(mixed))}, errs: []string{"2 tests failed", "1 tests skipped"}, out: "FAILED x TestF/sub"},
		"the other run is empty": {also: []string{write("empty.json", "")}, errs: []string{"empty.json hold no test result"}, out: "1 tests: 1 passed"},
		"the other run is gone":  {also: []string{filepath.Join(dir, "gone.json")}, errs: []string{"gone.json"}},
		"only build output":      {also: []string{write("text.json", "go: no such tool\n")}, errs: []string{"text.json hold no test result"}, out: "go: no such tool"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(strings.NewReader(pass("p", "TestA")), c.also, &out, "", "")
			if len(c.errs) == 0 && err != nil {
				t.Errorf("run: %v\n%s", err, out.String())
			}
			if len(c.errs) > 0 && err == nil {
				t.Errorf("run passed; want %q\n%s", c.errs, out.String())
			}
			for _, want := range c.errs {
				if err != nil && !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if !strings.Contains(out.String(), c.out) {
				t.Errorf("output does not say %q:\n%s", c.out, out.String())
			}
		})
	}
}

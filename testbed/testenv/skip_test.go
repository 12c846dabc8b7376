package testenv

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// bareSkips lists the Skip, Skipf and SkipNow of tests and benchmarks in
// a Go file: calls, and method values passed along, on every name the
// file declares as a *testing.T, *testing.B, *testing.F or testing.TB.
func bareSkips(fset *token.FileSet, name string, src any) ([]string, error) {
	f, err := parser.ParseFile(fset, name, src, 0)
	if err != nil {
		return nil, err
	}
	tests := map[string]bool{}
	declare := func(names []*ast.Ident, typ ast.Expr) {
		if star, ok := typ.(*ast.StarExpr); ok {
			typ = star.X
		}
		if sel, ok := typ.(*ast.SelectorExpr); ok {
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "testing" && strings.Contains(" T B F TB ", " "+sel.Sel.Name+" ") {
				for _, n := range names {
					tests[n.Name] = true
				}
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			declare(n.Names, n.Type)
		case *ast.ValueSpec:
			declare(n.Names, n.Type)
		}
		return true
	})
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && tests[id.Name] && strings.HasPrefix(sel.Sel.Name, "Skip") {
				found = append(found, fmt.Sprintf("%s: %s.%s", fset.Position(sel.Pos()), id.Name, sel.Sel.Name))
			}
		}
		return true
	})
	return found, nil
}

// TestNoBareSkips: every skip goes through Skip, SkipUnless or Corpus
// (this package's skip.go), which fail instead under CI or
// POOLMIGRATE_REQUIRE_TESTBED=1. A bare t.Skip anywhere else would let a
// complete run pass without testing what it skipped.
func TestNoBareSkips(t *testing.T) {
	root := repoRoot()
	helper := filepath.Join(root, "testbed", "testenv", "skip.go")
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "node_modules" || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || p == helper {
			return nil
		}
		files++
		found, err := bareSkips(fset, p, nil)
		if err != nil {
			return err
		}
		for _, f := range found {
			t.Errorf("%s: skip through testenv.Skip, testenv.SkipUnless or testenv.Corpus, which fail when the run is required to be complete", f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read only %d Go files under %s", files, root)
	}
}

// TestBareSkipsFound: the check above finds what it looks for.
func TestBareSkipsFound(t *testing.T) {
	cases := map[string]struct {
		src  string
		want int
	}{
		"t.Skip":             {`package p; import "testing"; func TestX(t *testing.T) { t.Skip("no") }`, 1},
		"b.Skipf":            {`package p; import "testing"; func BenchmarkX(b *testing.B) { b.Skipf("no %d", 1) }`, 1},
		"SkipNow in closure": {`package p; import "testing"; func TestX(t *testing.T) { f := func() { t.SkipNow() }; f() }`, 1},
		"method value":       {`package p; import "testing"; func TestX(t *testing.T) { skip := t.Skip; skip() }`, 1},
		"the helper":         {`package p; import ("testing"; "x/testenv"); func TestX(t *testing.T) { testenv.Skip(t, "no"); testenv.SkipUnless(t, false, "no") }`, 0},
		"filepath.SkipDir":   {`package p; import "path/filepath"; var _ = filepath.SkipDir`, 0},
		"a field named Skip": {`package p; import "testing"; func TestX(t *testing.T) { var pol struct{ Skip []string }; _ = pol.Skip }`, 0},
		"a TB helper":        {`package p; import "testing"; func need(tb testing.TB) { tb.Skip("no") }`, 1},
		"a var of its own":   {`package p; import "testing"; var b *testing.B; func f() { b.SkipNow() }`, 1},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			found, err := bareSkips(token.NewFileSet(), "x.go", c.src)
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != c.want {
				t.Errorf("found %v, want %d", found, c.want)
			}
		})
	}
}

// recorder stands in for a test, to see what Skip does.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Fatal(args ...any)            { r.fatal = fmt.Sprint(args...) }
func (r *recorder) Skip(args ...any)             { r.skip = fmt.Sprint(args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.fatal = fmt.Sprintf(f, args...) }

func TestSkipFailsWhenRequired(t *testing.T) {
	for _, c := range []struct {
		ci, require string
		fails       bool
	}{{"", "", false}, {"true", "", true}, {"", "1", true}, {"false", "0", false}} {
		t.Run(fmt.Sprintf("CI=%q require=%q", c.ci, c.require), func(t *testing.T) {
			t.Setenv("CI", c.ci)
			t.Setenv("POOLMIGRATE_REQUIRE_TESTBED", c.require)
			r := &recorder{}
			Skip(r, "the widget is missing")
			if c.fails && (r.skip != "" || !strings.Contains(r.fatal, "the widget is missing")) || !c.fails && (r.fatal != "" || r.skip != "the widget is missing") {
				t.Errorf("fatal %q, skip %q", r.fatal, r.skip)
			}
			r = &recorder{}
			SkipUnless(r, true, "present")
			if r.fatal != "" || r.skip != "" {
				t.Errorf("SkipUnless(true): fatal %q, skip %q", r.fatal, r.skip)
			}
		})
	}
}

func TestCorpusSetMustExist(t *testing.T) {
	t.Setenv("POOLMIGRATE_CORPUS", filepath.Join(t.TempDir(), "none"))
	r := &recorder{}
	Corpus(r)
	if !strings.Contains(r.fatal, "POOLMIGRATE_CORPUS") || r.skip != "" {
		t.Errorf("a POOLMIGRATE_CORPUS that does not exist: fatal %q, skip %q", r.fatal, r.skip)
	}
}

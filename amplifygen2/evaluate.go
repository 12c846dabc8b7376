package amplifygen2

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/evanw/esbuild/pkg/api"
)

//go:embed recorder.js
var recorderJS string

// evalTimeout bounds a resource file's run: a file that loops forever
// fails instead of hanging plan.
var evalTimeout = 10 * time.Second

// evaluate bundles the TypeScript file at file (a path in fsys) with the
// local files it imports, runs it with every package import replaced by a
// recorder, and returns its exports as recorded. It is how a Gen 2
// resource file is read without Node.js, the project's node_modules or
// AWS: esbuild strips the types and follows the imports, goja runs the
// result, and the recorder keeps what a.schema(...), defineAuth(...) and
// the rest were called with. The run happens in a child process with a
// hard memory limit and a hard kill (isolate.go): goja's interrupt does
// not stop a built-in such as "x".repeat(2**30).
func evaluate(fsys fs.FS, file string) (value, error) {
	js, err := bundle(fsys, file)
	if err != nil {
		return value{}, err
	}
	out, err := runIsolated(file, js)
	if err != nil {
		return value{}, err
	}
	var v value
	if err := json.Unmarshal(out, &v); err != nil {
		return value{}, fmt.Errorf("record %s: %w", file, err)
	}
	return v, nil
}

// run runs the bundle js of file and returns its exports as the recorder
// serializes them (JSON). It is called in the evaluator process.
func run(file, js string, timeout time.Duration) ([]byte, error) {
	vm := goja.New()
	timer := time.AfterFunc(timeout, func() { vm.Interrupt(&timedOut{timeout}) })
	defer timer.Stop()
	if _, err := vm.RunString("var process = { env: {} };"); err != nil {
		return nil, err
	}
	rec, err := vm.RunString(recorderJS)
	if err != nil {
		return nil, fmt.Errorf("start the recorder: %w", err)
	}
	recObj := rec.ToObject(vm)
	module := vm.NewObject()
	exports := vm.NewObject()
	_ = module.Set("exports", exports)
	// The bundle starts on the wrapper's first line, so that the lines of
	// its inline source map stay right.
	wrapped, err := vm.RunScript(bundleName, "(function (module, exports, require) {"+js+"\n})")
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, jsError(err))
	}
	fn, _ := goja.AssertFunction(wrapped)
	if _, err := fn(goja.Undefined(), module, exports, recObj.Get("require")); err != nil {
		return nil, fmt.Errorf("run %s: %w", file, jsError(err))
	}
	ser, _ := goja.AssertFunction(recObj.Get("serialize"))
	out, err := ser(goja.Undefined(), module.Get("exports"))
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", file, jsError(err))
	}
	return []byte(out.String()), nil
}

// bundleName names the bundle in goja's positions; its inline source map
// replaces it with the project file's name wherever it maps.
const bundleName = "bundle.js"

// timedOut is the value a run is interrupted with.
type timedOut struct{ after time.Duration }

// jsError turns an error of the run into a message naming the project
// file and line it happened at (through the bundle's source map).
func jsError(err error) error {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if to, ok := ie.Value().(*timedOut); ok {
			return fmt.Errorf("it ran longer than %s%s; a resource file must only declare the backend: remove the loop or long computation there and run again", to.after, where(ie.Stack()))
		}
		return err
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return errors.New(ex.Value().String() + where(ex.Stack()))
	}
	return err
}

// where is " (at file:line:column)" for the innermost frame of stack
// that is in a project file, or "".
func where(stack []goja.StackFrame) string {
	for _, f := range stack {
		p := f.Position()
		if p.Filename == "" || p.Filename == bundleName || p.Line == 0 {
			continue
		}
		return fmt.Sprintf(" (at %s:%d:%d)", strings.TrimPrefix(p.Filename, fsysNamespace+":"), p.Line, p.Column)
	}
	return ""
}

const fsysNamespace = "project"

// bundle turns file and the project files it imports into one CommonJS
// script; imports of packages stay require() calls.
func bundle(fsys fs.FS, file string) (string, error) {
	if _, err := fs.Stat(fsys, file); err != nil {
		return "", fmt.Errorf("read %s: %w", file, err)
	}
	res := api.Build(api.BuildOptions{
		EntryPoints: []string{file},
		Bundle:      true,
		Write:       false,
		Format:      api.FormatCommonJS,
		Platform:    api.PlatformNeutral,
		Target:      api.ES2017,
		Sourcemap:   api.SourceMapInline,
		LogLevel:    api.LogLevelSilent,
		Plugins:     []api.Plugin{projectFiles(fsys)},
	})
	if len(res.Errors) > 0 {
		var msgs []string
		for _, m := range res.Errors {
			where := ""
			if m.Location != nil {
				where = fmt.Sprintf("%s:%d:%d: ", strings.TrimPrefix(m.Location.File, fsysNamespace+":"), m.Location.Line, m.Location.Column)
			}
			msgs = append(msgs, where+m.Text)
		}
		return "", fmt.Errorf("read %s: %s", file, strings.Join(msgs, "; "))
	}
	if len(res.OutputFiles) != 1 {
		return "", fmt.Errorf("read %s: the bundler returned %d files", file, len(res.OutputFiles))
	}
	return string(res.OutputFiles[0].Contents), nil
}

// projectFiles serves the project's own files from fsys and leaves every
// package import external, so the bundler never touches the disk or
// node_modules.
func projectFiles(fsys fs.FS) api.Plugin {
	return api.Plugin{
		Name: "poolmigrate-project-files",
		Setup: func(b api.PluginBuild) {
			b.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(args api.OnResolveArgs) (api.OnResolveResult, error) {
				p := args.Path
				switch {
				case args.Kind == api.ResolveEntryPoint:
				case strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../"):
					p = path.Join(path.Dir(args.Importer), p)
				default:
					return api.OnResolveResult{Path: args.Path, External: true}, nil
				}
				found, err := resolveFile(fsys, p)
				if errors.Is(err, fs.ErrNotExist) {
					return api.OnResolveResult{}, fmt.Errorf("cannot find %s (imported by %s)", args.Path, args.Importer)
				}
				if err != nil {
					return api.OnResolveResult{}, err
				}
				return api.OnResolveResult{Path: found, Namespace: fsysNamespace}, nil
			})
			b.OnLoad(api.OnLoadOptions{Filter: ".*", Namespace: fsysNamespace}, func(args api.OnLoadArgs) (api.OnLoadResult, error) {
				data, err := fs.ReadFile(fsys, args.Path)
				if err != nil {
					return api.OnLoadResult{}, err
				}
				s := string(data)
				loader := api.LoaderTS
				switch path.Ext(args.Path) {
				case ".js", ".mjs", ".cjs":
					loader = api.LoaderJS
				case ".json":
					loader = api.LoaderJSON
				}
				return api.OnLoadResult{Contents: &s, Loader: loader}, nil
			})
		},
	}
}

// resolveFile finds an import the way TypeScript's bundler resolution
// does: as written, with a TypeScript or JavaScript extension, a ".js"
// written for a ".ts" file (ESM style), or a folder's index. A candidate
// that cannot be read for another reason than its absence (a link out of
// the project) ends the search with that error.
func resolveFile(fsys fs.FS, p string) (string, error) {
	p = path.Clean(p)
	if !fs.ValidPath(p) {
		return "", fmt.Errorf("%s is outside the project, and poolmigrate reads only files inside it", p)
	}
	tries := []string{p}
	base := p
	for _, ext := range []string{".js", ".mjs", ".cjs"} {
		if strings.HasSuffix(p, ext) {
			base = strings.TrimSuffix(p, ext)
		}
	}
	for _, ext := range []string{".ts", ".mts", ".cts", ".tsx", ".js", ".mjs", ".cjs", ".json"} {
		tries = append(tries, base+ext)
	}
	for _, ext := range []string{".ts", ".js"} {
		tries = append(tries, p+"/index"+ext)
	}
	for _, t := range tries {
		fi, err := fs.Stat(fsys, t)
		if err == nil && !fi.IsDir() {
			return t, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", fs.ErrNotExist
}

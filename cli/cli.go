// Package cli wires poolmigrate's commands: it parses flags, resolves the
// configuration (flag > POOLMIGRATE_* environment variable > Amplify project
// files > default), calls the domain packages and prints their results. Data
// goes to stdout, diagnostics to stderr.
package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/poolmigrate/poolmigrate/trigger/prebuilt"
)

// Version and Commit are stamped at build time by scripts/package.sh
// (-ldflags "-X github.com/poolmigrate/poolmigrate/cli.Version=..."); the
// version comes from package.json. A plain `go build` says "dev" and takes
// the commit from the build's VCS information when there is some.
var (
	Version = "dev"
	Commit  = ""
)

// App is one invocation of poolmigrate with its streams and environment, so
// tests can run commands in-process.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Getwd  func() (string, error)
}

// NewApp returns an App on the process's streams and environment.
func NewApp() *App {
	return &App{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Getwd: os.Getwd}
}

// command is one subcommand: its flags are registered on fs, then run is
// called with the positional arguments.
type command struct {
	name    string
	summary string
	usage   string
	setup   func(fs *flag.FlagSet, g *globals) func(ctx context.Context, args []string) error
}

func (a *App) commands() []command {
	return []command{
		planCommand(a),
		backupCommand(a),
		checkCommand(a),
		exportCommand(a),
		importCommand(a),
		remapCommand(a),
		verifyCommand(a),
		rollbackCommand(a),
		detachCommand(a),
		patchCommand(a),
		migrateCommand(a),
		triggerCommand(a),
		retainCommand(a),
		syncCommand(a),
		retireCommand(a),
		versionCommand(a),
	}
}

// UsageError is a mistake in the command line; it exits with code 2.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// ExitCoder is implemented by errors that choose their exit code (for
// example a check that found blocking problems exits 1 without being a
// failure of the tool).
type ExitCoder interface{ ExitCode() int }

// ExitCode maps an error returned by Run to the process exit code.
func ExitCode(err error) int {
	var ec ExitCoder
	var ue *UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ec):
		return ec.ExitCode()
	case errors.As(err, &ue), errors.Is(err, flag.ErrHelp):
		return 2
	case errors.Is(err, context.Canceled):
		return 130
	}
	return 1
}

// Run runs the command line args (without the program name).
func (a *App) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return a.Run(ctx, []string{args[1], "--help"})
		}
		a.printUsage(a.Stdout)
		return nil
	}
	if args[0] == "--version" || args[0] == "-v" {
		args = []string{"version"}
	}
	for _, c := range a.commands() {
		if c.name != args[0] {
			continue
		}
		fs := flag.NewFlagSet("poolmigrate "+c.name, flag.ContinueOnError)
		fs.SetOutput(a.Stderr)
		g := &globals{}
		g.register(fs)
		run := c.setup(fs, g)
		fs.Usage = func() {
			fmt.Fprintf(a.Stderr, "Usage: poolmigrate %s\n\n%s\n\nFlags:\n", c.usage, c.summary)
			fs.PrintDefaults()
		}
		pos, err := parseInterspersed(fs, args[1:])
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return usagef("%s: %v", c.name, err)
		}
		g.fromEnv(a.Getenv, fs)
		return run(ctx, pos)
	}
	return usagef("unknown command %q; run `poolmigrate help` for the list", args[0])
}

func (a *App) printUsage(w io.Writer) {
	fmt.Fprintln(w, "poolmigrate moves an Amplify (Gen 1) app to a new Cognito user pool without losing users or their data.")
	fmt.Fprintln(w, "\nUsage: poolmigrate <command> [flags]\n\nCommands:")
	cmds := a.commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nGlobal flags (each also read from POOLMIGRATE_<NAME>, e.g. POOLMIGRATE_ENV):")
	fmt.Fprintln(w, "  --project DIR  Amplify project root (default: nearest folder above holding amplify/.config/project-config.json)")
	fmt.Fprintln(w, "  --env NAME     Amplify environment (default: amplify/.config/local-env-info.json)")
	fmt.Fprintln(w, "  --region NAME  AWS region (default: the env's region in team-provider-info.json)")
	fmt.Fprintln(w, "  --profile NAME AWS profile (default: the env's profile in local-aws-info.json)")
	fmt.Fprintln(w, "  --json         print the result as JSON on stdout")
	fmt.Fprintln(w, "  --yes          do not ask before writing")
	fmt.Fprintln(w, "\nRun `poolmigrate help <command>` for a command's flags.")
}

// parseInterspersed lets flags follow positional arguments
// (`backup verify FILE --json`), which the flag package alone does not.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// globals are the flags every command takes.
type globals struct {
	project string
	env     string
	region  string
	profile string
	json    bool
	yes     bool
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.project, "project", "", "Amplify project root (env POOLMIGRATE_PROJECT)")
	fs.StringVar(&g.env, "env", "", "Amplify environment (env POOLMIGRATE_ENV)")
	fs.StringVar(&g.region, "region", "", "AWS region (env POOLMIGRATE_REGION)")
	fs.StringVar(&g.profile, "profile", "", "AWS profile (env POOLMIGRATE_PROFILE)")
	fs.BoolVar(&g.json, "json", false, "print the result as JSON on stdout")
	fs.BoolVar(&g.yes, "yes", false, "do not ask before writing")
}

// fromEnv fills the globals the command line did not set from POOLMIGRATE_*
// variables, so the precedence is flag > environment > project files.
func (g *globals) fromEnv(getenv func(string) string, fs *flag.FlagSet) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, dst := range map[string]*string{"project": &g.project, "env": &g.env, "region": &g.region, "profile": &g.profile} {
		if !set[name] {
			if v := getenv("POOLMIGRATE_" + strings.ToUpper(name)); v != "" {
				*dst = v
			}
		}
	}
}

func versionCommand(a *App) command {
	return command{
		name:    "version",
		summary: "print poolmigrate's version",
		usage:   "version",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			return func(context.Context, []string) error {
				commit := Commit
				if commit == "" {
					commit = vcsRevision()
				}
				trig := "built from source when deployed"
				if len(prebuilt.Zip) > 0 {
					sum := sha256.Sum256(prebuilt.Zip)
					trig = "prebuilt (linux/arm64, sha256 " + hex.EncodeToString(sum[:8]) + "…)"
				}
				if g.json {
					return writeJSON(a.Stdout, map[string]string{"version": Version, "commit": commit, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH, "trigger": trig})
				}
				fmt.Fprintf(a.Stdout, "poolmigrate %s (commit %s, %s, %s/%s)\nuser migration trigger: %s\n", Version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, trig)
				return nil
			}
		},
	}
}

// vcsRevision is the commit the Go toolchain recorded, or "unknown".
func vcsRevision() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
	}
	return "unknown"
}

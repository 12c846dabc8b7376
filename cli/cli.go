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
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"

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
	// TriggerSource is this binary's own trigger source (package main
	// embeds it; nil in tests unless set): the only source `trigger build`
	// and `trigger deploy` build from without --source.
	TriggerSource fs.FS
	// TokenmintSource is this binary's own token function source
	// (tokenmint/deploy.SourceFiles; package main embeds it): `storage
	// copy` builds the custom-auth trio from it.
	TokenmintSource fs.FS
	// trioDeployed, when set (tests), is called once the trio is on a
	// pool: the test bed runs the function's code there.
	trioDeployed func(ctx context.Context, pool, function string) error
}

// NewApp returns an App on the process's streams and environment.
func NewApp() *App {
	return &App{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Getwd: os.Getwd}
}

// command is one subcommand: its flags are registered on fs, then run is
// called with the positional arguments. usage starts with the name; " | "
// followed by the name again starts another form. group is the heading it
// is listed under in `poolmigrate help` (default: see groupID).
type command struct {
	name    string
	summary string
	usage   string
	group   string
	setup   func(fs *pflag.FlagSet, g *globals) func(ctx context.Context, args []string) error
	// subcommands, when there are some, are the command's own commands
	// (`storage plan`); setup is then unused.
	subcommands []command
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
		storageCommand(a),
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
	case errors.As(err, &ue), errors.Is(err, pflag.ErrHelp):
		return 2
	case errors.Is(err, context.Canceled):
		return 130
	}
	return 1
}

// Run runs the command line args (without the program name).
func (a *App) Run(ctx context.Context, args []string) error {
	// A nil slice would make cobra read os.Args.
	args = append([]string{}, args...)
	root := a.rootCommand(args)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
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

// register puts the global flags on fs. A back-quoted word in a usage
// string is the flag's argument name in help; these match the README's.
func (g *globals) register(fs *pflag.FlagSet) {
	fs.StringVar(&g.project, "project", "", "root `DIR` of the Amplify project, or a folder in it (env POOLMIGRATE_PROJECT; default: the nearest folder above holding amplify/.config/project-config.json)")
	fs.StringVar(&g.env, "env", "", "Amplify environment `NAME` (env POOLMIGRATE_ENV; default: amplify/.config/local-env-info.json)")
	fs.StringVar(&g.region, "region", "", "AWS region `NAME` (env POOLMIGRATE_REGION; default: the env's region in team-provider-info.json)")
	fs.StringVar(&g.profile, "profile", "", "AWS profile `NAME` (env POOLMIGRATE_PROFILE; default: the env's profile in local-aws-info.json)")
	fs.BoolVar(&g.json, "json", false, "print the result as JSON on stdout")
	fs.BoolVar(&g.yes, "yes", false, "do not ask before writing")
}

// fromEnv fills the globals the command line did not set from POOLMIGRATE_*
// variables, so the precedence is flag > environment > project files. fs
// is the flag set the globals were registered on.
func (g *globals) fromEnv(getenv func(string) string, fs *pflag.FlagSet) {
	for name, dst := range map[string]*string{"project": &g.project, "env": &g.env, "region": &g.region, "profile": &g.profile} {
		if !fs.Changed(name) {
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
		group:   groupMaintenance,
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			return func(context.Context, []string) error {
				commit := Commit
				if commit == "" {
					commit = vcsRevision()
				}
				trig := "built from this binary's own source when deployed"
				if zip := prebuilt.For("arm64"); len(zip) > 0 {
					arm, amd := sha256.Sum256(zip), sha256.Sum256(prebuilt.For("amd64"))
					trig = "prebuilt (linux/arm64, sha256 " + hex.EncodeToString(arm[:8]) + "…; linux/amd64, sha256 " + hex.EncodeToString(amd[:8]) + "…)"
				}
				tm := "built from this binary's own source when deployed"
				if zip := tokenmintPrebuilt("arm64"); len(zip) > 0 {
					arm, amd := sha256.Sum256(zip), sha256.Sum256(tokenmintPrebuilt("amd64"))
					tm = "prebuilt (linux/arm64, sha256 " + hex.EncodeToString(arm[:8]) + "…; linux/amd64, sha256 " + hex.EncodeToString(amd[:8]) + "…)"
				}
				if g.json {
					return writeJSON(a.Stdout, map[string]string{"version": Version, "commit": commit, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH, "trigger": trig, "tokenmint": tm})
				}
				fmt.Fprintf(a.Stdout, "poolmigrate %s (commit %s, %s, %s/%s)\nuser migration trigger: %s\ntoken function: %s\n", Version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, trig, tm)
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

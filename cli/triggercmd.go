package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/poolmigrate/poolmigrate/trigger"
)

func triggerCommand(a *App) command {
	return command{
		name:    "trigger",
		summary: "the new pool's user migration Lambda trigger (users keep their passwords): trigger build",
		usage:   "trigger build [--out DIR] [--arch arm64|amd64] [--source DIR]",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			out := fs.String("out", "migration-trigger", "where bootstrap and migration-trigger.zip go")
			arch := fs.String("arch", "arm64", "Lambda architecture: arm64 or amd64")
			source := fs.String("source", "", "the poolmigrate source to build from (default: the module at or above the working folder)")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 || args[0] != "build" {
					return usagef("usage: poolmigrate trigger build [--out DIR] [--arch arm64|amd64]")
				}
				return a.runTriggerBuild(ctx, g, *out, *arch, *source)
			}
		},
	}
}

func (a *App) runTriggerBuild(ctx context.Context, g *globals, out, arch, source string) error {
	if source == "" {
		wd, err := a.Getwd()
		if err != nil {
			return err
		}
		if source, err = trigger.FindSource(wd); err != nil {
			return fmt.Errorf("%w: `trigger build` builds from the poolmigrate source; run it in a clone or pass --source DIR", err)
		}
	}
	b, err := trigger.Build(ctx, source, out, arch)
	if err != nil {
		return err
	}
	if g.json {
		return writeJSON(a.Stdout, b)
	}
	fmt.Fprintf(a.Stdout, "Built the user migration trigger for provided.al2023 (%s):\n  %s\n  %s (sha256 %s)\n", b.Arch, b.Bootstrap, b.Zip, b.SHA256)
	fmt.Fprintln(a.Stdout, "Its settings come from the environment: OLD_USER_POOL_ID, OLD_APP_CLIENT_ID, CARRY_ATTRIBUTES (optional).")
	return nil
}

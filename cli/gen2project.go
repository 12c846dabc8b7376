package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/service/appsync"

	"github.com/poolmigrate/poolmigrate/amplifygen2"
	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/statedir"
)

// findProject finds the project the globals point at and tells its
// generation: the nearest folder (from --project or the working
// directory, upwards) holding amplify/backend.ts (Gen 2) or
// amplify/.config/project-config.json (Gen 1). A folder holding both is
// Gen 2: `amplify gen2-migration generate` writes the Gen 2 backend next
// to the Gen 1 files it keeps until decommission, and from then on the
// app deploys from backend.ts.
func (a *App) findProject(g *globals) (string, int, error) {
	start := g.project
	if start == "" || !filepath.IsAbs(start) {
		wd, err := a.Getwd()
		if err != nil {
			return "", 0, fmt.Errorf("read working directory: %w", err)
		}
		start = filepath.Join(wd, start)
	}
	for dir := start; ; dir = filepath.Dir(dir) {
		if amplifygen2.IsRoot(dir) {
			return dir, 2, nil
		}
		if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(amplifyproj.ProjectConfigPath))); err == nil && !fi.IsDir() {
			return dir, 1, nil
		}
		if filepath.Dir(dir) == dir {
			return "", 0, fmt.Errorf("%w in %s or any folder above it (looked for %s and, for Gen 2, %s); run poolmigrate inside your Amplify app or pass --project DIR", amplifyproj.ErrNoProject, start, amplifyproj.ProjectConfigPath, amplifygen2.BackendPath)
		}
	}
}

// planOptions are what some commands add to the project files.
type planOptions struct {
	allowUnknownEnv bool
	// apiID names a Gen 2 project's AppSync API (--api-id, else
	// POOLMIGRATE_API_ID).
	apiID string
}

// loadPlan reads the project the globals point at, of either generation,
// into its plan: the one thing the steps after it (backup, check, export,
// import, remap, verify) read.
func (a *App) loadPlan(g *globals, o planOptions) (*migration.Plan, string, error) {
	root, gen, err := a.findProject(g)
	if err != nil {
		return nil, "", err
	}
	if gen == 2 {
		p, err := amplifygen2.Load(statedir.FS(root), root)
		if err != nil {
			return nil, "", err
		}
		return amplifygen2.BuildPlan(p, a.gen2Options(g, o.apiID)), root, nil
	}
	p, root, err := a.loadProjectWith(g, o.allowUnknownEnv)
	if err != nil {
		return nil, "", err
	}
	pl, err := migration.BuildPlan(statedir.FS(root), p)
	if err != nil {
		return nil, "", err
	}
	return pl, root, nil
}

// gen2Options resolves a Gen 2 project's settings: the branch is --env,
// POOLMIGRATE_ENV, or AWS_BRANCH (set in Amplify Hosting's builds).
func (a *App) gen2Options(g *globals, apiID string) amplifygen2.Options {
	return amplifygen2.Options{
		Branch:  firstNonEmpty(g.env, a.Getenv("AWS_BRANCH")),
		APIID:   firstNonEmpty(apiID, a.Getenv("POOLMIGRATE_API_ID")),
		Region:  g.region,
		Profile: g.profile,
	}
}

// addLive confirms the plan against AWS, with the reader of its
// generation.
func (a *App) addLive(ctx context.Context, pl *migration.Plan, c *awsClients) error {
	if pl.Generation == 2 {
		return explainAWS(amplifygen2.AddLive(ctx, pl, amplifygen2.LiveClients{AppSync: appsync.NewFromConfig(c.cfg), Cognito: c.cognito, Dynamo: c.dynamo, Stacks: c.cloudformation()}))
	}
	return explainAWS(pl.AddLive(ctx, migration.LiveClients{Cognito: c.cognito, Dynamo: c.dynamo}))
}

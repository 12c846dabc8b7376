package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/statedir"
)

// loadProject finds and reads the Amplify project the globals point at.
func (a *App) loadProject(g *globals) (*amplifyproj.Project, string, error) {
	return a.loadProjectWith(g, false)
}

// loadProjectWith reads the project; allowUnknownEnv lets a fresh clone
// without env files load (for plan).
func (a *App) loadProjectWith(g *globals, allowUnknownEnv bool) (*amplifyproj.Project, string, error) {
	var root string
	if g.project != "" {
		abs := g.project
		if !filepath.IsAbs(abs) {
			wd, err := a.Getwd()
			if err != nil {
				return nil, "", fmt.Errorf("read working directory: %w", err)
			}
			abs = filepath.Join(wd, abs)
		}
		root = abs
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(amplifyproj.ProjectConfigPath))); err != nil {
			// --project may name a folder inside the project, like the cwd.
			if root, err = amplifyproj.FindRoot(abs); err != nil {
				return nil, "", err
			}
		}
	} else {
		wd, err := a.Getwd()
		if err != nil {
			return nil, "", fmt.Errorf("read working directory: %w", err)
		}
		if root, err = amplifyproj.FindRoot(wd); err != nil {
			return nil, "", err
		}
	}
	p, err := amplifyproj.Load(statedir.FS(root), root, amplifyproj.Options{Env: g.env, Region: g.region, Profile: g.profile, AllowUnknownEnv: allowUnknownEnv})
	if err != nil {
		return nil, "", err
	}
	return p, root, nil
}

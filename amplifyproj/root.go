// Package amplifyproj reads an Amplify (Gen 1) project the way the Amplify CLI
// does: which environment, region and profile are in force, which Cognito auth
// and AppSync API resources exist, and what each API's configuration says.
// It only reads; it never writes a project file.
package amplifyproj

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ProjectConfigPath is the file whose presence marks an Amplify project root.
const ProjectConfigPath = "amplify/.config/project-config.json"

// ErrNoProject is returned when no Amplify project root encloses a folder.
var ErrNoProject = errors.New("no Amplify project found")

// FindRoot returns the nearest ancestor of start (start included) that holds
// amplify/.config/project-config.json, as the Amplify CLI's findProjectRoot
// does. Monorepos keep the project in a sub-folder, so the walk stops at the
// first match rather than at the repository root.
func FindRoot(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", fmt.Errorf("find project root: %w", err)
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(ProjectConfigPath))); err == nil && !fi.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w in %s or any folder above it (looked for %s); run poolmigrate inside your Amplify app or pass --project DIR", ErrNoProject, start, ProjectConfigPath)
		}
		dir = parent
	}
}

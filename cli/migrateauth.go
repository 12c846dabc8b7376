package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/authplan"
)

// authReplaced checks, from the project's files, that the Amplify CLI
// steps between detach and patch really happened: the groups and the old
// auth resource are gone (entry and folder), and a new Cognito auth
// resource exists with its folder. The CLI exits 0 when it refuses (`add
// auth` while an auth resource is left, `remove auth` without --yes), so
// its exit code proves nothing. While steps remain it prints them and
// reports waiting.
func (a *App) authReplaced(p *amplifyproj.Project, root, state string, st *migrateState) (string, bool, error) {
	out := a.Stdout
	var plan authplan.Plan
	data, err := os.ReadFile(filepath.Join(state, addAuthPlanFile))
	if err != nil {
		return "", false, fmt.Errorf("read %s (detach writes it): %w: run `poolmigrate detach` again", filepath.Join(state, addAuthPlanFile), err)
	}
	if err := json.Unmarshal(data, &plan); err != nil {
		return "", false, fmt.Errorf("read %s: %w", filepath.Join(state, addAuthPlanFile), err)
	}
	payload, _ := filepath.Rel(root, filepath.Join(state, addAuthFile))
	oldDir := filepath.Join(root, "amplify", "backend", "auth", st.OldAuth)
	_, oldDirErr := os.Stat(oldDir)
	_, oldStill := p.AuthByName(st.OldAuth)
	groupsOld := p.UserPoolGroups != "" && groupsDependOn(p, st.OldAuth)

	var steps []string
	switch {
	case oldStill:
		if groupsOld {
			steps = append(steps, fmt.Sprintf("amplify remove auth %s --yes", p.UserPoolGroups))
		}
		steps = append(steps, fmt.Sprintf("amplify remove auth %s --yes", st.OldAuth), fmt.Sprintf("amplify add auth --headless < %s", payload))
	case oldDirErr == nil:
		return "", true, a.waitFor(fmt.Sprintf("backend-config.json no longer lists auth %s, but its folder %s is still there: `amplify remove auth` did not finish (it stops half-way when amplify-meta.json lacks providers.awscloudformation.StackId: run `amplify pull` first). Restore the project files with git, then run the steps again", st.OldAuth, oldDir), nil)
	}
	var newAuth amplifyproj.AuthResource
	found := false
	if !oldStill {
		for _, au := range p.Auth {
			if au.Name == st.OldAuth {
				continue
			}
			if found {
				return "", false, fmt.Errorf("several new Cognito auth resources (%s, %s): the project may have only one", newAuth.Name, au.Name)
			}
			newAuth, found = au, true
		}
		if found && !newAuth.Imported {
			if _, err := os.Stat(filepath.Join(root, "amplify", "backend", "auth", newAuth.Name, "cli-inputs.json")); err != nil {
				return "", true, a.waitFor(fmt.Sprintf("auth %s is in backend-config.json but amplify/backend/auth/%s/cli-inputs.json is missing: `amplify add auth` did not finish; remove it (`amplify remove auth %s --yes`) and add it again", newAuth.Name, newAuth.Name, newAuth.Name), nil)
			}
		}
		if !found {
			if p.UserPoolGroups != "" {
				steps = append(steps, fmt.Sprintf("amplify remove auth %s --yes   (`add auth` refuses while it exists)", p.UserPoolGroups))
			}
			steps = append(steps, fmt.Sprintf("amplify add auth --headless < %s", payload))
		}
	}
	if len(steps) > 0 {
		return "", true, a.waitFor(fmt.Sprintf("replace auth %s (its pool's users are in the verified backup %s)", st.OldAuth, st.Backup), steps)
	}
	if len(plan.Groups) > 0 && p.UserPoolGroups == "" {
		fmt.Fprintf(out, "warning: the old pool had groups (%s) but the new auth resource has none: resources that used them stay detached until you add them (`amplify update auth`) and run `poolmigrate patch` again\n", strings.Join(plan.Groups, ", "))
	}
	return newAuth.Name, false, nil
}

// groupsDependOn tells whether the user pool groups resource still belongs
// to auth name.
func groupsDependOn(p *amplifyproj.Project, name string) bool {
	for _, d := range p.Dependents {
		if d.Category == "auth" && d.Resource == p.UserPoolGroups && d.DependsOn == name {
			return true
		}
	}
	return false
}

// waitFor prints what the user must do before the flow can continue.
func (a *App) waitFor(what string, steps []string) error {
	fmt.Fprintf(a.Stdout, "\nNow %s", what)
	if len(steps) > 0 {
		fmt.Fprintf(a.Stdout, ", with the Amplify CLI, in this order:\n\n")
		for i, s := range steps {
			fmt.Fprintf(a.Stdout, "  %d. %s\n", i+1, s)
		}
	} else {
		fmt.Fprintln(a.Stdout, ".")
	}
	fmt.Fprintf(a.Stdout, `
Then run `+"`poolmigrate migrate`"+` again: it checks each step happened (the CLI exits 0 when it refuses). Before users reset their passwords, mind:
  - e-mail: Cognito's default sender allows 50 messages a day; configure SES on the new pool;
  - a post-confirmation trigger runs again when each user confirms a password reset: make it idempotent;
  - identity pool ids change, and so do S3 private/ and protected/ paths keyed by them.
`)
	return nil
}

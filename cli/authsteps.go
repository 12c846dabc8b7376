package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/authplan"
	"github.com/poolmigrate/poolmigrate/backendpatch"
	"github.com/poolmigrate/poolmigrate/statedir"
)

// addAuthFile holds the one-line payload for `amplify add auth --headless`;
// addAuthPlanFile the whole plan (answers, triggers, what is not carried).
const (
	addAuthFile     = "add-auth.json"
	addAuthPlanFile = "add-auth-plan.json"
)

// newAuthPlan reads the old auth resource's settings and builds the answers
// for re-creating it with the new sign-in.
func newAuthPlan(root, oldAuth string, f *detachFlags) (*authplan.Plan, error) {
	dir := filepath.Join(root, "amplify", "backend", "auth", oldAuth)
	inputs, _ := os.ReadFile(filepath.Join(dir, "cli-inputs.json"))
	params, _ := os.ReadFile(filepath.Join(dir, "parameters.json"))
	settings, err := authplan.Settings(inputs, params)
	if err != nil {
		return nil, fmt.Errorf("read the settings of auth %s (%s): %w", oldAuth, dir, err)
	}
	groups, _ := os.ReadFile(filepath.Join(root, "amplify", "backend", "auth", backendpatch.GroupsResource, "user-pool-group-precedence.json"))
	newName := f.newAuth
	if newName == "" {
		newName = oldAuth + "v2"
	}
	var aliases []string
	if f.aliases != "" {
		aliases = splitList(f.aliases)
	}
	plan, err := authplan.New(oldAuth, settings, groups, authplan.Options{NewName: newName, SignIn: f.signIn, Aliases: aliases})
	if err != nil {
		return nil, fmt.Errorf("plan the new auth resource: %w", err)
	}
	return plan, nil
}

func writeAuthPlan(state string, plan *authplan.Plan) error {
	if err := statedir.WriteFile(filepath.Join(state, addAuthFile), append(append([]byte{}, plan.Payload...), '\n')); err != nil {
		return err
	}
	data, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		return err
	}
	return statedir.WriteFile(filepath.Join(state, addAuthPlanFile), append(data, '\n'))
}

// printAuthSteps prints the Amplify CLI commands that replace the auth
// resource, in the only order the CLI accepts.
func (a *App) printAuthSteps(p *amplifyproj.Project, oldAuth string, plan *authplan.Plan, payload string) {
	out := a.Stdout
	rel := payload
	if r, err := filepath.Rel(p.Root, payload); err == nil {
		rel = r
	}
	fmt.Fprintf(out, "\nNext, with the Amplify CLI, in this order (`add auth` refuses while any auth resource is left, and exits 0 when it does):\n\n")
	n := 1
	if p.UserPoolGroups != "" {
		fmt.Fprintf(out, "  %d. amplify remove auth %s --yes\n", n, p.UserPoolGroups)
		n++
	}
	fmt.Fprintf(out, "  %d. amplify remove auth %s --yes\n", n, oldAuth)
	n++
	fmt.Fprintf(out, "  %d. amplify add auth --headless < %s\n", n, rel)
	fmt.Fprintf(out, "     (auth %s: sign-in %s instead of %s", plan.NewName, strings.ToLower(plan.SignIn), strings.ToLower(plan.OldSignIn))
	if len(plan.Groups) > 0 {
		fmt.Fprintf(out, ", groups %s", strings.Join(plan.Groups, ", "))
	}
	fmt.Fprintf(out, "; the rest as before)\n")
	fmt.Fprintf(out, "  then: poolmigrate patch   (or `poolmigrate migrate`, which checks each step happened)\n")
	fmt.Fprintf(out, "\nTo answer the prompts yourself instead (`amplify add auth`), the same choices:\n")
	for _, ans := range plan.Answers {
		fmt.Fprintf(out, "  %s\n", ans)
	}
	if len(plan.Triggers) > 0 {
		fmt.Fprintf(out, "\nLambda triggers of the old pool (`amplify remove auth` leaves their functions behind):\n")
		for _, t := range plan.Triggers {
			fmt.Fprintf(out, "  %s → function %s: `poolmigrate patch` wires it into auth %s and moves the function to %s%s (the name the CLI's auth stack expects)\n", t.Event, t.Function, plan.NewName, plan.NewName, t.Event)
		}
	}
	var other []string
	for _, nc := range plan.NotCarried {
		if !strings.HasPrefix(nc, "trigger ") {
			other = append(other, nc)
		}
	}
	if len(other) > 0 {
		fmt.Fprintf(out, "\nNot carried by `amplify add auth` (do these yourself):\n")
		for _, nc := range other {
			fmt.Fprintf(out, "  - %s\n", nc)
		}
	}
	fmt.Fprintln(out)
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

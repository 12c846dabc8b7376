package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestRetainPoolCheckWhileAPushRuns: while the env's root stack or its
// auth stack is being updated (or stuck after a failed update), the
// template CloudFormation returns may never take effect: `retain-pool
// --check` refuses, saying why, until both have settled.
func TestRetainPoolCheckWhileAPushRuns(t *testing.T) {
	env := testenv.Require(t)
	dir := copyProject(t, "../examples/notes-app")
	stack := "amplify-notesapp-dev-" + testenv.RandomSuffix()
	replaceInFile(t, filepath.Join(dir, "amplify/team-provider-info.json"), `"StackName": "amplify-notesapp-dev-10101"`, `"StackName": "`+stack+`"`)
	arn := func(s string) string { return "arn:aws:cloudformation:us-east-1:000000000000:stack/" + s + "/1" }
	retained := `{"Resources":{"UserPool":{"Type":"AWS::Cognito::UserPool","DeletionPolicy":"Retain","UpdateReplacePolicy":"Retain","Properties":{}}}}`
	plant := func(root, auth string) {
		env.PlantStackStatus(t, stack, arn(stack), nil, map[string]string{"authnotesappauth": arn(stack + "-auth")}, "", root)
		env.PlantStackStatus(t, stack+"-auth", arn(stack+"-auth"), nil, nil, retained, auth)
	}
	check := func(name, want string, ok bool) {
		t.Helper()
		out, _, err := runApp(t, dir, nil, "retain-pool", "--check")
		if ok && err != nil || !ok && ExitCode(err) != 1 || !strings.Contains(out, want) {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
	plant("UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS")
	check("the push under way", "UPDATE_IN_PROGRESS: a push is under way", false)
	plant("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE")
	check("the auth stack done, the root still updating (it may roll back)", stack+" is UPDATE_IN_PROGRESS", false)
	plant("UPDATE_ROLLBACK_FAILED", "UPDATE_COMPLETE")
	check("a failed rollback", "its last change failed", false)
	plant("UPDATE_COMPLETE", "UPDATE_COMPLETE")
	check("the push done", "keeps its user pool", true)
}

package cli

import (
	"encoding/json"
	"os"
	"testing"
)

// TestPluginListsEveryCommand: the Amplify CLI runs only the commands
// amplify-plugin.json lists (`amplify poolmigrate <command>`), so every
// command of poolmigrate, cobra's help and completion too, must be there.
func TestPluginListsEveryCommand(t *testing.T) {
	raw, err := os.ReadFile("../amplify-plugin.json")
	if err != nil {
		t.Fatal(err)
	}
	var plugin struct{ Commands []string }
	if err := json.Unmarshal(raw, &plugin); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range plugin.Commands {
		listed[c] = true
	}
	root := (&App{}).rootCommand(nil)
	for _, c := range root.Commands() {
		if !c.Hidden && !listed[c.Name()] {
			t.Errorf("amplify-plugin.json does not list %q: `amplify poolmigrate %s` would not reach poolmigrate", c.Name(), c.Name())
		}
	}
	if len(root.Commands()) < len((&App{}).commands())+2 {
		t.Fatalf("the root has %d commands", len(root.Commands()))
	}
}

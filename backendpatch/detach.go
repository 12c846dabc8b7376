package backendpatch

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
)

// Files that list dependsOn edges. The CLI builds push parameters from
// amplify-meta.json's copy, so both are changed.
var dependsOnFiles = []string{"amplify/backend/backend-config.json", "amplify/backend/amplify-meta.json"}

// DetachedEdge is a dependsOn entry detach removed; patch puts it back
// pointing at the new auth resource.
type DetachedEdge struct {
	File     string `json:"file"`
	Category string `json:"category"`
	Resource string `json:"resource"`
	Entry    string `json:"entry"` // the entry's raw JSON
}

// DetachRecord is kept with the detach operation.
type DetachRecord struct {
	Auth  string         `json:"auth"`
	Edges []DetachedEdge `json:"edges"`
	// Triggers are the old auth resource's trigger settings (the
	// cli-inputs.json keys in triggerKeys). `amplify remove auth` deletes
	// them with the resource, and `amplify add auth --headless` cannot set
	// them: patch gives them to the new resource.
	Triggers map[string]json.RawMessage `json:"triggers,omitempty"`
}

// triggerKeys are the auth settings that wire Lambda triggers to the pool.
var triggerKeys = []string{"triggers", "dependsOn", "permissions", "authTriggerConnections"}

// readTriggerSettings returns the trigger settings of an auth resource, or
// nil when it has no triggers.
func readTriggerSettings(cs *ChangeSet, auth string) (map[string]json.RawMessage, error) {
	content, ok, err := cs.loadJSON("amplify/backend/auth/" + auth + "/cli-inputs.json")
	if err != nil || !ok {
		return nil, err
	}
	c := gjson.Get(content, "cognitoConfig")
	// Older CLIs keep the function edges only in backend-config.json.
	backend, _, err := cs.loadJSON(dependsOnFiles[0])
	if err != nil {
		return nil, err
	}
	var edges []string
	for _, src := range []gjson.Result{c.Get("dependsOn"), gjson.Get(backend, "auth."+esc(auth)+".dependsOn")} {
		for _, d := range src.Array() {
			if d.Get("triggerProvider").String() != "Cognito" {
				continue
			}
			dup := false
			for _, e := range edges {
				dup = dup || gjson.Get(e, "resourceName").String() == d.Get("resourceName").String()
			}
			if !dup {
				edges = append(edges, d.Raw)
			}
		}
	}
	if len(edges) == 0 {
		return nil, nil
	}
	out := map[string]json.RawMessage{"dependsOn": json.RawMessage("[" + strings.Join(edges, ",") + "]")}
	for _, k := range triggerKeys {
		if v := c.Get(k); v.Exists() && k != "dependsOn" {
			out[k] = json.RawMessage(v.Raw)
		}
	}
	return out, nil
}

// GroupsResource is the name the CLI gives the user pool groups resource
// (service Cognito-UserPool-Groups). It is an auth resource of its own:
// `amplify add auth` refuses while it exists, and `amplify remove auth`
// refuses to remove it while anything depends on it.
const GroupsResource = "userPoolGroups"

// detachTarget tells whether a dependsOn entry d of resource cat/name must
// go so that the old auth resource and its groups can be removed: entries
// naming the auth resource, and entries naming userPoolGroups (storage with
// group access, functions, APIs). The groups resource's own entry on the
// auth resource stays: it makes the CLI refuse to remove the auth resource
// before the groups, the order that works.
func detachTarget(auth, cat, name string, d gjson.Result) bool {
	if d.Get("category").String() != "auth" {
		return false
	}
	switch d.Get("resourceName").String() {
	case auth:
		return !(cat == "auth" && name == GroupsResource)
	case GroupsResource:
		return true
	}
	return false
}

func esc(s string) string { return gjson.Escape(s) }

// Detach removes every dependsOn entry that names the auth resource or its
// userPoolGroups, in backend-config.json and amplify-meta.json, so that
// `amplify remove auth userPoolGroups` and then `amplify remove auth <auth>`
// no longer refuse.
func Detach(root, auth string) (*ChangeSet, DetachRecord, error) {
	cs := newChangeSet(root)
	rec := DetachRecord{Auth: auth, Edges: []DetachedEdge{}}
	if err := amplifyproj.CheckResourceName("the auth resource to detach", auth); err != nil {
		return nil, rec, err
	}
	for _, file := range dependsOnFiles {
		content, ok, err := cs.loadJSON(file)
		if err != nil || !ok {
			if err != nil {
				return nil, rec, err
			}
			continue
		}
		var hits int
		var targets [][2]string // category, resource
		gjson.Parse(content).ForEach(func(cat, resources gjson.Result) bool {
			if !resources.IsObject() {
				return true
			}
			resources.ForEach(func(name, res gjson.Result) bool {
				found := false
				for _, d := range res.Get("dependsOn").Array() {
					if detachTarget(auth, cat.String(), name.String(), d) {
						rec.Edges = append(rec.Edges, DetachedEdge{File: file, Category: cat.String(), Resource: name.String(), Entry: d.Raw})
						hits++
						found = true
					}
				}
				if found {
					targets = append(targets, [2]string{cat.String(), name.String()})
				}
				return true
			})
			return true
		})
		for _, t := range targets {
			cat, name := t[0], t[1]
			path := esc(cat) + "." + esc(name) + ".dependsOn"
			var keep []string
			for _, d := range gjson.Get(content, path).Array() {
				if !detachTarget(auth, cat, name, d) {
					keep = append(keep, d.Raw)
				}
			}
			if content, err = setArray(content, path, keep); err != nil {
				return nil, rec, fmt.Errorf("edit %s at %s: %w", file, path, err)
			}
		}
		if hits > 0 {
			if err := cs.set(file, []byte(content), fmt.Sprintf("remove %d dependsOn entries naming auth %s or %s", hits, auth, GroupsResource)); err != nil {
				return nil, rec, err
			}
		}
	}
	triggers, err := readTriggerSettings(cs, auth)
	if err != nil {
		return nil, rec, err
	}
	rec.Triggers = triggers
	sort.SliceStable(rec.Edges, func(i, j int) bool {
		a, b := rec.Edges[i], rec.Edges[j]
		return a.File+a.Category+a.Resource < b.File+b.Category+b.Resource
	})
	return cs, rec, nil
}

// LastDetach returns the newest detach record in the state folder.
func LastDetach(stateDir string) (DetachRecord, bool, error) {
	var rec DetachRecord
	ok, err := lastExtra(stateDir, "detach", &rec)
	return rec, ok, err
}

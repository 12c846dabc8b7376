package backendpatch

import (
	"fmt"
	"sort"

	"github.com/tidwall/gjson"
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
}

func esc(s string) string { return gjson.Escape(s) }

// Detach removes every dependsOn entry that names the auth resource, in
// backend-config.json and amplify-meta.json, so that `amplify remove auth`
// no longer refuses.
func Detach(root, auth string) (*ChangeSet, DetachRecord, error) {
	cs := newChangeSet(root)
	rec := DetachRecord{Auth: auth, Edges: []DetachedEdge{}}
	for _, file := range dependsOnFiles {
		content, ok, err := cs.loadJSON(file)
		if err != nil || !ok {
			if err != nil {
				return nil, rec, err
			}
			continue
		}
		var hits int
		var paths []string
		gjson.Parse(content).ForEach(func(cat, resources gjson.Result) bool {
			if !resources.IsObject() {
				return true
			}
			resources.ForEach(func(name, res gjson.Result) bool {
				found := false
				for _, d := range res.Get("dependsOn").Array() {
					if d.Get("category").String() == "auth" && d.Get("resourceName").String() == auth {
						rec.Edges = append(rec.Edges, DetachedEdge{File: file, Category: cat.String(), Resource: name.String(), Entry: d.Raw})
						hits++
						found = true
					}
				}
				if found {
					paths = append(paths, esc(cat.String())+"."+esc(name.String())+".dependsOn")
				}
				return true
			})
			return true
		})
		for _, path := range paths {
			var keep []string
			for _, d := range gjson.Get(content, path).Array() {
				if !(d.Get("category").String() == "auth" && d.Get("resourceName").String() == auth) {
					keep = append(keep, d.Raw)
				}
			}
			if content, err = setArray(content, path, keep); err != nil {
				return nil, rec, fmt.Errorf("edit %s at %s: %w", file, path, err)
			}
		}
		if hits > 0 {
			if err := cs.set(file, []byte(content), fmt.Sprintf("remove %d dependsOn entries naming auth %s", hits, auth)); err != nil {
				return nil, rec, err
			}
		}
	}
	sort.Slice(rec.Edges, func(i, j int) bool {
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

package backendpatch

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
)

// PatchOptions say what to re-point.
type PatchOptions struct {
	From string // the old auth resource
	To   string // the new auth resource
	// Edges are the dependsOn entries detach removed, to restore for To.
	Edges []DetachedEdge
	// Triggers are the old resource's trigger settings (DetachRecord).
	Triggers map[string]json.RawMessage
	// NewImported tells whether To is an imported pool, and its id.
	NewImported bool
	NewPoolID   string
}

// Patch re-points the backend from the old auth resource to the new one:
// the APIs' parameters.json (AuthCognitoUserPoolId) and cli-inputs.json,
// authConfig user pool references and dependsOn entries in
// backend-config.json and amplify-meta.json, function templates and
// parameters, team-provider-info.json, and the stale build/parameters.json,
// which the CLI would read in preference at push.
func Patch(root string, o PatchOptions) (*ChangeSet, error) {
	if err := amplifyproj.CheckResourceName("the old auth resource", o.From); err != nil {
		return nil, err
	}
	if err := amplifyproj.CheckResourceName("the new auth resource", o.To); err != nil {
		return nil, err
	}
	cs := newChangeSet(root)
	oldRef, newRef := "auth"+o.From, "auth"+o.To
	for _, file := range dependsOnFiles {
		content, ok, err := cs.loadJSON(file)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		orig := content
		root := gjson.Parse(content)
		// Restore the detached edges: those on the old auth resource now
		// name the new one; those on userPoolGroups come back only where
		// the new auth resource has groups again.
		for _, e := range o.Edges {
			if e.File != file || !root.Get(esc(e.Category)+"."+esc(e.Resource)).Exists() {
				continue
			}
			entry := e.Entry
			switch gjson.Get(entry, "resourceName").String() {
			case o.From:
				if entry, err = sjson.Set(entry, "resourceName", o.To); err != nil {
					return nil, fmt.Errorf("edit %s: %w", file, err)
				}
			case GroupsResource:
				if !root.Get("auth." + GroupsResource).Exists() {
					if file == dependsOnFiles[0] {
						cs.Notes = append(cs.Notes, fmt.Sprintf("%s/%s depended on %s (%s), but the new auth resource has no user pool groups: add them (`amplify update auth`), then run `poolmigrate patch` again", e.Category, e.Resource, GroupsResource, strings.Join(stringsOf(gjson.Get(entry, "attributes")), ", ")))
					}
					continue
				}
			}
			path := esc(e.Category) + "." + esc(e.Resource) + ".dependsOn"
			present := false
			for _, d := range gjson.Get(content, path).Array() {
				if sameEdge(d, gjson.Parse(entry)) {
					present = true
				}
			}
			if !present {
				elems := append(rawElems(gjson.Get(content, path)), entry)
				if content, err = setArray(content, path, elems); err != nil {
					return nil, fmt.Errorf("edit %s at %s: %w", file, path, err)
				}
			}
		}
		// Any edge still naming the old resource, and the APIs' authConfig.
		var sets [][2]string
		gjson.Parse(content).ForEach(func(cat, resources gjson.Result) bool {
			if !resources.IsObject() {
				return true
			}
			resources.ForEach(func(name, res gjson.Result) bool {
				base := esc(cat.String()) + "." + esc(name.String())
				for i, d := range res.Get("dependsOn").Array() {
					if d.Get("category").String() == "auth" && d.Get("resourceName").String() == o.From {
						sets = append(sets, [2]string{fmt.Sprintf("%s.dependsOn.%d.resourceName", base, i), o.To})
					}
				}
				if cat.String() == "api" {
					ac := res.Get("output.authConfig")
					if ac.Get("defaultAuthentication.userPoolConfig.userPoolId").String() == oldRef {
						sets = append(sets, [2]string{base + ".output.authConfig.defaultAuthentication.userPoolConfig.userPoolId", newRef})
					}
					for i, p := range ac.Get("additionalAuthenticationProviders").Array() {
						if p.Get("userPoolConfig.userPoolId").String() == oldRef {
							sets = append(sets, [2]string{fmt.Sprintf("%s.output.authConfig.additionalAuthenticationProviders.%d.userPoolConfig.userPoolId", base, i), newRef})
						}
					}
				}
				return true
			})
			return true
		})
		for _, s := range sets {
			if content, err = sjson.Set(content, s[0], s[1]); err != nil {
				return nil, fmt.Errorf("edit %s at %s: %w", file, s[0], err)
			}
		}
		if content != orig {
			if err := cs.set(file, []byte(content), "re-point dependsOn and authConfig to auth "+o.To); err != nil {
				return nil, err
			}
		}
	}

	apis, err := listDirs(root, "amplify/backend/api")
	if err != nil {
		return nil, err
	}
	for _, api := range apis {
		dir := "amplify/backend/api/" + api
		if err := patchParameters(cs, dir+"/parameters.json", o); err != nil {
			return nil, err
		}
		if err := patchCLIInputs(cs, dir+"/cli-inputs.json", oldRef, newRef); err != nil {
			return nil, err
		}
		build := dir + "/build/parameters.json"
		if _, ok, err := cs.load(build); err != nil {
			return nil, err
		} else if ok {
			if err := cs.set(build, nil, "delete the stale compiled copy, which amplify push would read before parameters.json (the next compile writes it again)"); err != nil {
				return nil, err
			}
		}
	}
	if err := patchFunctions(cs, o); err != nil {
		return nil, err
	}
	if err := carryTriggers(cs, o); err != nil {
		return nil, err
	}
	if err := patchTeamProvider(cs, o); err != nil {
		return nil, err
	}
	return cs, nil
}

func patchParameters(cs *ChangeSet, file string, o PatchOptions) error {
	content, ok, err := cs.loadJSON(file)
	if err != nil || !ok {
		return err
	}
	v := gjson.Get(content, "AuthCognitoUserPoolId")
	const getAtt = "AuthCognitoUserPoolId." + `Fn\:\:GetAtt`
	switch {
	case v.IsObject() && gjson.Get(content, getAtt+".0").String() == "auth"+o.From:
		content, err = sjson.Set(content, getAtt+".0", "auth"+o.To)
	case v.Type == gjson.String && o.NewImported && o.NewPoolID != "" && v.String() != o.NewPoolID:
		content, err = sjson.Set(content, "AuthCognitoUserPoolId", o.NewPoolID)
	case v.Type == gjson.String && !o.NewImported:
		content, err = sjson.SetRaw(content, "AuthCognitoUserPoolId", fmt.Sprintf(`{"Fn::GetAtt": ["auth%s", "Outputs.UserPoolId"]}`, o.To))
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("edit %s: %w", file, err)
	}
	return cs.set(file, []byte(content), "AuthCognitoUserPoolId → auth "+o.To)
}

func patchCLIInputs(cs *ChangeSet, file, oldRef, newRef string) error {
	content, ok, err := cs.loadJSON(file)
	if err != nil || !ok {
		return err
	}
	orig := content
	if gjson.Get(content, "serviceConfiguration.defaultAuthType.cognitoUserPoolId").String() == oldRef {
		if content, err = sjson.Set(content, "serviceConfiguration.defaultAuthType.cognitoUserPoolId", newRef); err != nil {
			return fmt.Errorf("edit %s: %w", file, err)
		}
	}
	for i, t := range gjson.Get(content, "serviceConfiguration.additionalAuthTypes").Array() {
		if t.Get("cognitoUserPoolId").String() == oldRef {
			if content, err = sjson.Set(content, fmt.Sprintf("serviceConfiguration.additionalAuthTypes.%d.cognitoUserPoolId", i), newRef); err != nil {
				return fmt.Errorf("edit %s: %w", file, err)
			}
		}
	}
	if content == orig {
		return nil
	}
	return cs.set(file, []byte(content), "cognitoUserPoolId → "+newRef)
}

// patchFunctions renames the old resource in function templates and
// parameters: parameters auth<old>UserPoolId, Refs, environment variables
// AUTH_<OLD>_..., IAM ARNs, and permissions.auth.<old>. Source files that
// read the old variables are listed, since their code must change too.
func patchFunctions(cs *ChangeSet, o PatchOptions) error {
	fns, err := listDirs(cs.Root, "amplify/backend/function")
	if err != nil {
		return err
	}
	oldEnv, newEnv := "AUTH_"+strings.ToUpper(o.From)+"_", "AUTH_"+strings.ToUpper(o.To)+"_"
	for _, fn := range fns {
		dir := "amplify/backend/function/" + fn
		for _, name := range []string{fn + "-cloudformation-template.json", "parameters.json"} {
			file := dir + "/" + name
			content, ok, err := cs.loadJSON(file)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			next := strings.ReplaceAll(content, `"auth`+o.From, `"auth`+o.To)
			next = strings.ReplaceAll(next, oldEnv, newEnv)
			if next != content {
				if err := cs.set(file, []byte(next), "rename the parameters and variables of auth "+o.From); err != nil {
					return err
				}
			}
		}
		file := dir + "/function-parameters.json"
		content, ok, err := cs.loadJSON(file)
		if err != nil {
			return err
		}
		if ok {
			old := gjson.Get(content, "permissions.auth."+esc(o.From))
			if old.Exists() {
				if content, err = sjson.Delete(content, "permissions.auth."+esc(o.From)); err == nil {
					content, err = sjson.SetRaw(content, "permissions.auth."+esc(o.To), old.Raw)
				}
				if err != nil {
					return fmt.Errorf("edit %s: %w", file, err)
				}
				if err := cs.set(file, []byte(content), "permissions of auth "+o.From+" → "+o.To); err != nil {
					return err
				}
			}
		}
		src, err := cs.path(dir + "/src")
		if err != nil {
			return err
		}
		_ = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				if d != nil && d.IsDir() && d.Name() == "node_modules" {
					return filepath.SkipDir
				}
				return nil
			}
			data, err := os.ReadFile(p)
			if err == nil && strings.Contains(string(data), oldEnv) {
				rel, _ := filepath.Rel(cs.Root, p)
				cs.Notes = append(cs.Notes, fmt.Sprintf("%s reads %s* environment variables: change it to %s* (the function's environment is renamed)", filepath.ToSlash(rel), oldEnv, newEnv))
			}
			return nil
		})
	}
	return nil
}

// patchTeamProvider moves each env's categories.auth.<old> to <new> (or
// drops it when <new> has its own).
func patchTeamProvider(cs *ChangeSet, o PatchOptions) error {
	const file = "amplify/team-provider-info.json"
	content, ok, err := cs.loadJSON(file)
	if err != nil || !ok {
		return err
	}
	orig := content
	var envs []string
	gjson.Parse(content).ForEach(func(k, _ gjson.Result) bool { envs = append(envs, k.String()); return true })
	sort.Strings(envs)
	for _, env := range envs {
		oldPath := esc(env) + ".categories.auth." + esc(o.From)
		old := gjson.Get(content, oldPath)
		if !old.Exists() {
			continue
		}
		newPath := esc(env) + ".categories.auth." + esc(o.To)
		hasNew := gjson.Get(content, newPath).Exists()
		if content, err = sjson.Delete(content, oldPath); err != nil {
			return fmt.Errorf("edit %s: %w", file, err)
		}
		if !hasNew {
			if content, err = sjson.SetRaw(content, newPath, old.Raw); err != nil {
				return fmt.Errorf("edit %s: %w", file, err)
			}
		}
	}
	if content == orig {
		return nil
	}
	return cs.set(file, []byte(content), "categories.auth."+o.From+" → "+o.To)
}

func listDirs(root, rel string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// sameEdge tells whether two dependsOn entries name the same resource and
// attributes (the new auth resource's own entries are equal to restored
// ones when the CLI wrote them already).
func sameEdge(a, b gjson.Result) bool {
	if a.Get("category").String() != b.Get("category").String() || a.Get("resourceName").String() != b.Get("resourceName").String() {
		return false
	}
	x, y := stringsOf(a.Get("attributes")), stringsOf(b.Get("attributes"))
	if gjson.Get(b.Raw, "resourceName").String() != GroupsResource {
		return true // one edge per resource: attributes follow the new resource
	}
	return strings.Join(x, ",") == strings.Join(y, ",")
}

func stringsOf(v gjson.Result) []string {
	var out []string
	for _, e := range v.Array() {
		out = append(out, e.String())
	}
	return out
}

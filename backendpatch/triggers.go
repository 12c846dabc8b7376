package backendpatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
)

// carryTriggers gives the old auth resource's Lambda triggers to the new
// one, as `amplify update auth` would wire them: the trigger settings in the
// new resource's cli-inputs.json, the function's dependsOn entry (with
// triggerProvider Cognito) on auth.<new> in backend-config.json and
// amplify-meta.json, and the function's parentResource. Triggers whose
// function is gone, or whose event the new resource already has, are
// reported instead.
func carryTriggers(cs *ChangeSet, o PatchOptions) error {
	if len(o.Triggers) == 0 {
		return nil
	}
	backend, _, err := cs.loadJSON(dependsOnFiles[0])
	if err != nil {
		return err
	}
	file := "amplify/backend/auth/" + o.To + "/cli-inputs.json"
	inputs, ok, err := cs.loadJSON(file)
	if err != nil {
		return err
	}
	if !ok || !gjson.Get(inputs, "cognitoConfig").IsObject() {
		cs.Notes = append(cs.Notes, fmt.Sprintf("the old pool's triggers were not carried: %s is missing (an imported pool keeps its own triggers)", file))
		return nil
	}
	oldTriggers := gjson.ParseBytes(o.Triggers["triggers"])
	if oldTriggers.Type == gjson.String {
		oldTriggers = gjson.Parse(oldTriggers.String())
	}
	newTriggers := gjson.Get(inputs, "cognitoConfig.triggers")
	if newTriggers.Type == gjson.String {
		newTriggers = gjson.Parse(newTriggers.String())
	}
	triggers := newTriggers.Raw
	if !newTriggers.IsObject() {
		triggers = "{}"
	}
	var edges, perms, conns []string
	edges = rawElems(gjson.Get(inputs, "cognitoConfig.dependsOn"))
	perms = rawElems(gjson.Get(inputs, "cognitoConfig.permissions"))
	conns = rawElems(gjson.Get(inputs, "cognitoConfig.authTriggerConnections"))
	var carried []string
	for _, d := range gjson.ParseBytes(o.Triggers["dependsOn"]).Array() {
		if d.Get("triggerProvider").String() != "Cognito" {
			continue
		}
		fn := d.Get("resourceName").String()
		event := triggerEvent(o, fn)
		// Both names become folders: they come from the detach record
		// (the old resource's cli-inputs.json), which may be damaged.
		if err := amplifyproj.CheckResourceName("the trigger function", fn); err != nil {
			return err
		}
		if err := amplifyproj.CheckResourceName("the trigger function's new name", o.To+event); err != nil {
			return err
		}
		if !gjson.Get(backend, "function."+esc(fn)).Exists() {
			cs.Notes = append(cs.Notes, fmt.Sprintf("trigger %s: its function %s is gone; add a %s trigger to auth %s with `amplify update auth` if you still need it", event, fn, event, o.To))
			continue
		}
		if newTriggers.Get(esc(event)).Exists() {
			cs.Notes = append(cs.Notes, fmt.Sprintf("trigger %s: auth %s has its own already; the old function %s is left unattached (remove it with `amplify remove function %s` once its code is moved)", event, o.To, fn, fn))
			continue
		}
		modules := oldTriggers.Get(esc(event))
		if !modules.Exists() {
			modules = gjson.Parse("[]")
		}
		if triggers, err = sjson.SetRaw(triggers, esc(event), modules.Raw); err != nil {
			return err
		}
		newFn := o.To + event
		entry, err := sjson.Set(d.Raw, "resourceName", newFn)
		if err != nil {
			return err
		}
		edges = append(edges, entry)
		for _, p := range gjson.ParseBytes(o.Triggers["permissions"]).Array() {
			v := p
			if v.Type == gjson.String {
				v = gjson.Parse(v.String())
			}
			if v.Get("trigger").String() == event {
				perms = append(perms, p.Raw)
			}
		}
		for _, c := range gjson.ParseBytes(o.Triggers["authTriggerConnections"]).Array() {
			v := c
			if v.Type == gjson.String {
				v = gjson.Parse(v.String())
			}
			if v.Get("lambdaFunctionName").String() == fn {
				conn, err := sjson.Set(v.Raw, "lambdaFunctionName", newFn)
				if err != nil {
					return err
				}
				if c.Type == gjson.String {
					conns = append(conns, string(mustJSON(conn)))
				} else {
					conns = append(conns, conn)
				}
			}
		}
		for _, f := range dependsOnFiles {
			if err := addAuthEdge(cs, f, o.To, entry); err != nil {
				return err
			}
		}
		if err := moveFunction(cs, fn, newFn, o.From, o.To); err != nil {
			return err
		}
		carried = append(carried, fmt.Sprintf("%s (function %s, now %s)", event, fn, newFn))
	}
	if len(carried) == 0 {
		return nil
	}
	next := inputs
	for _, kv := range []struct {
		key   string
		elems []string
	}{{"dependsOn", edges}, {"permissions", perms}, {"authTriggerConnections", conns}} {
		if next, err = setArray(next, "cognitoConfig."+kv.key, kv.elems); err != nil {
			return fmt.Errorf("edit %s: %w", file, err)
		}
	}
	if gjson.Get(next, "cognitoConfig.triggers").Type == gjson.String {
		next, err = sjson.Set(next, "cognitoConfig.triggers", triggers)
	} else {
		next, err = sjson.SetRaw(next, "cognitoConfig.triggers", triggers)
	}
	if err != nil {
		return fmt.Errorf("edit %s: %w", file, err)
	}
	return cs.set(file, []byte(next), "attach the old pool's triggers: "+strings.Join(carried, ", "))
}

// triggerEvent finds the event a trigger function serves: the CLI names
// trigger functions <auth resource><event>.
func triggerEvent(o PatchOptions, fn string) string {
	for _, c := range gjson.ParseBytes(o.Triggers["authTriggerConnections"]).Array() {
		v := c
		if v.Type == gjson.String {
			v = gjson.Parse(v.String())
		}
		if v.Get("lambdaFunctionName").String() == fn {
			return v.Get("triggerType").String()
		}
	}
	return strings.TrimPrefix(fn, o.From)
}

// addAuthEdge adds a dependsOn entry to auth.<name> unless it is there.
func addAuthEdge(cs *ChangeSet, file, auth, entry string) error {
	content, ok, err := cs.loadJSON(file)
	if err != nil || !ok {
		return err
	}
	path := "auth." + esc(auth) + ".dependsOn"
	if !gjson.Get(content, "auth."+esc(auth)).Exists() {
		return nil
	}
	e := gjson.Parse(entry)
	for _, d := range gjson.Get(content, path).Array() {
		if d.Get("category").String() == e.Get("category").String() && d.Get("resourceName").String() == e.Get("resourceName").String() {
			return nil
		}
	}
	next, err := setArray(content, path, append(rawElems(gjson.Get(content, path)), entry))
	if err != nil {
		return fmt.Errorf("edit %s at %s: %w", file, path, err)
	}
	return cs.set(file, []byte(next), "auth "+auth+" invokes trigger "+e.Get("resourceName").String())
}

// moveFunction renames trigger function resource oldFn to newFn, the name
// the CLI's generated auth stack expects (<auth resource><event>): its
// folder (node_modules aside, which the build makes again), its name inside
// its files, its entries in backend-config.json, amplify-meta.json (as a
// resource to create: the next push replaces the old Lambda) and
// team-provider-info.json, and its parentResource.
func moveFunction(cs *ChangeSet, oldFn, newFn, fromAuth, toAuth string) error {
	if oldFn == newFn {
		return nil
	}
	dir := "amplify/backend/function/" + oldFn
	var files []string
	full, err := cs.path(dir)
	if err != nil {
		return err
	}
	err = filepath.WalkDir(full, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(cs.Root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read function %s: %w", oldFn, err)
	}
	for _, rel := range files {
		data, ok, err := cs.load(rel)
		if err != nil || !ok {
			return err
		}
		newRel := "amplify/backend/function/" + newFn + "/" + strings.ReplaceAll(strings.TrimPrefix(rel, dir+"/"), oldFn, newFn)
		content := data
		if utf8.Valid(data) && !bytes.ContainsRune(data, 0) {
			s := strings.ReplaceAll(string(data), oldFn, newFn)
			if strings.HasSuffix(rel, "/function-parameters.json") && gjson.Get(s, "parentResource").String() == fromAuth {
				if s, err = sjson.Set(s, "parentResource", toAuth); err != nil {
					return fmt.Errorf("edit %s: %w", rel, err)
				}
			}
			content = []byte(s)
		}
		if err := cs.set(newRel, content, "trigger function "+oldFn+" becomes "+newFn); err != nil {
			return err
		}
		if err := cs.set(rel, nil, "moved to "+newRel); err != nil {
			return err
		}
	}
	for _, file := range dependsOnFiles {
		content, ok, err := cs.loadJSON(file)
		if err != nil || !ok {
			return err
		}
		entry := gjson.Get(content, "function."+esc(oldFn))
		if !entry.Exists() {
			continue
		}
		raw := entry.Raw
		for _, k := range []string{"output", "lastPushTimeStamp", "lastPushDirHash", "lastBuildTimeStamp", "lastPackageTimeStamp", "distZipFilename", "s3Bucket", "lastBuildType"} {
			raw, _ = sjson.Delete(raw, k)
		}
		next, err := sjson.Delete(content, "function."+esc(oldFn))
		if err == nil {
			next, err = sjson.SetRaw(next, "function."+esc(newFn), raw)
		}
		// The CLI's parameters block (AMPLIFY_function_<fn>_s3Key and the
		// like, with usedBy entries) names the function too.
		if params := gjson.Get(next, "parameters"); err == nil && params.IsObject() && strings.Contains(params.Raw, oldFn) {
			next, err = sjson.SetRaw(next, "parameters", strings.ReplaceAll(params.Raw, oldFn, newFn))
		}
		if err != nil {
			return fmt.Errorf("edit %s: %w", file, err)
		}
		if err := cs.set(file, []byte(next), "trigger function "+oldFn+" becomes "+newFn); err != nil {
			return err
		}
	}
	const tpi = "amplify/team-provider-info.json"
	content, ok, err := cs.loadJSON(tpi)
	if err != nil || !ok {
		return err
	}
	next := content
	gjson.Parse(content).ForEach(func(env, v gjson.Result) bool {
		path := esc(env.String()) + ".categories.function." + esc(oldFn)
		if e := gjson.Get(next, path); e.Exists() {
			next, err = sjson.Delete(next, path)
			if err == nil {
				next, err = sjson.SetRaw(next, esc(env.String())+".categories.function."+esc(newFn), strings.ReplaceAll(e.Raw, oldFn, newFn))
			}
		}
		return err == nil
	})
	if err != nil {
		return fmt.Errorf("edit %s: %w", tpi, err)
	}
	return cs.set(tpi, []byte(next), "trigger function "+oldFn+" becomes "+newFn)
}

func mustJSON(v any) []byte {
	data, _ := json.Marshal(v)
	return data
}

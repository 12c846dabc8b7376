package storage

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/amplifygen2"
)

// ReadGen2 reads a Gen 2 project's storage through fsys (rooted at the
// project root): every defineStorage of amplify/storage/resource.ts
// (evaluated by amplifygen2 in its isolated evaluator), joined by name
// with amplify_outputs.json's storage.buckets (deployed name, region,
// paths), and the identity pool (auth.identity_pool_id). A bucket the
// outputs list but the file does not is read from the outputs alone.
func ReadGen2(fsys fs.FS) (*Plan, error) {
	p := newPlan(2)
	defs, err := amplifygen2.ReadStorage(fsys)
	if err != nil {
		return nil, err
	}
	out, outOK, err := readJSON(fsys, amplifygen2.OutputsPath)
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		b := Bucket{Resource: d.Name, Default: d.IsDefault, IdentityPaths: []IdentityPath{}, Access: []Access{}}
		for _, a := range d.Access {
			if err := gen2Grants(&b, a.Path, rulesOf(a.Rules)); err != nil {
				return nil, fmt.Errorf("read %s: defineStorage %s: %w", amplifygen2.StoragePath, d.Name, err)
			}
		}
		p.Buckets = append(p.Buckets, b)
	}
	if err := joinOutputs(p, out, len(defs) > 0); err != nil {
		return nil, err
	}
	if len(p.Buckets) == 1 {
		p.Buckets[0].Default = true
	}
	if len(p.Buckets) > 0 && !outOK {
		p.warn("OUTPUTS_MISSING", "%s is missing (it is git-ignored): the deployed bucket names and the identity pool id are unknown; write it with `npx ampx generate outputs --branch BRANCH --app-id APP_ID`", amplifygen2.OutputsPath)
	}
	if id := out.Get("auth.identity_pool_id").String(); id != "" {
		src := amplifygen2.OutputsPath + " auth.identity_pool_id"
		if err := checkIdentityPoolID(src, id); err != nil {
			return nil, err
		}
		p.IdentityPool.ID, p.IdentityPool.Source = id, src
	}
	// The pool swap updates the identity pool in place: same id.
	p.IdentityPool.Survives = true
	p.chooseRoute()
	return p, nil
}

// grant is one rule of an access path, in the model's terms.
type grant struct {
	who, group string
	actions    []string
}

// rulesOf turns defineStorage's rules into grants; only
// allow.entity('identity') makes the owner.
func rulesOf(rules []amplifygen2.StorageRule) []grant {
	var out []grant
	for _, r := range rules {
		switch r.Who {
		case "entity":
			if r.Entity == "identity" {
				out = append(out, grant{who: "owner", actions: r.Actions})
			}
		case "groups":
			for _, g := range r.Groups {
				out = append(out, grant{who: "group", group: g, actions: r.Actions})
			}
		default:
			out = append(out, grant{who: r.Who, actions: r.Actions})
		}
	}
	return out
}

// gen2Grants adds an access path's grants to b, and its identity
// template when the owner is among them.
func gen2Grants(b *Bucket, path string, grants []grant) error {
	template, hasEntity, err := identityTemplate(path)
	if err != nil {
		return err
	}
	for _, g := range grants {
		actions := g.actions
		if actions == nil {
			actions = []string{}
		}
		b.Access = append(b.Access, Access{Path: path, Who: g.who, Group: g.group, Actions: actions})
		if g.who == "owner" {
			if !hasEntity {
				return fmt.Errorf("access path %q grants allow.entity('identity') but holds no %s", path, EntityID)
			}
			b.addIdentityPath(template, actions)
		}
	}
	return nil
}

// joinOutputs takes each bucket's deployed name and region from
// amplify_outputs.json, and the buckets the outputs list that the
// resource file does not.
func joinOutputs(p *Plan, out gjson.Result, haveDefs bool) error {
	st := out.Get("storage")
	if !st.Exists() {
		return nil
	}
	src := amplifygen2.OutputsPath + " storage"
	byName := map[string]int{}
	for i, b := range p.Buckets {
		byName[b.Resource] = i
	}
	for i, ob := range st.Get("buckets").Array() {
		where := fmt.Sprintf("%s.buckets[%d]", src, i)
		name, bucket, region := ob.Get("name").String(), ob.Get("bucket_name").String(), ob.Get("aws_region").String()
		if err := checkBucketName(where+".bucket_name", bucket); err != nil {
			return err
		}
		if err := checkRegion(where+".aws_region", region); err != nil {
			return err
		}
		j, ok := byName[name]
		if !ok {
			b := Bucket{Resource: name, IdentityPaths: []IdentityPath{}, Access: []Access{}}
			paths := ob.Get("paths")
			var keys []string
			paths.ForEach(func(k, _ gjson.Result) bool { keys = append(keys, k.String()); return true })
			sort.Strings(keys)
			for _, k := range keys {
				if err := gen2Grants(&b, k, outputGrants(paths.Get(gjson.Escape(k)))); err != nil {
					return fmt.Errorf("read %s: %w", where, err)
				}
			}
			p.Buckets = append(p.Buckets, b)
			j = len(p.Buckets) - 1
			byName[name] = j
			if haveDefs {
				p.warn("BUCKET_NOT_IN_RESOURCE", "%s lists bucket %s, which %s does not define: it is read from the outputs (is the file stale, or is the bucket defined elsewhere?)", amplifygen2.OutputsPath, name, amplifygen2.StoragePath)
			}
		}
		p.Buckets[j].BucketName, p.Buckets[j].Region = bucket, region
	}
	// Outputs before storage.buckets (schema 1.1) name one bucket.
	if bn := st.Get("bucket_name").String(); bn != "" && len(st.Get("buckets").Array()) == 0 {
		if err := checkBucketName(src+".bucket_name", bn); err != nil {
			return err
		}
		region := st.Get("aws_region").String()
		if err := checkRegion(src+".aws_region", region); err != nil {
			return err
		}
		for i := range p.Buckets {
			if p.Buckets[i].Default || len(p.Buckets) == 1 {
				p.Buckets[i].BucketName, p.Buckets[i].Region = bn, region
				break
			}
		}
	}
	return nil
}

// outputGrants reads one path's rule of amplify_outputs.json:
// {"entityidentity": [...], "authenticated": [...], "guest": [...],
// "groupsADMINS": [...], "resource": [...]}.
func outputGrants(rule gjson.Result) []grant {
	var out []grant
	var keys []string
	rule.ForEach(func(k, _ gjson.Result) bool { keys = append(keys, k.String()); return true })
	sort.Strings(keys)
	for _, k := range keys {
		var actions []string
		for _, a := range rule.Get(gjson.Escape(k)).Array() {
			actions = append(actions, a.String())
		}
		switch {
		case k == "entityidentity":
			out = append(out, grant{who: "owner", actions: actions})
		case strings.HasPrefix(k, "groups"):
			out = append(out, grant{who: "group", group: strings.TrimPrefix(k, "groups"), actions: actions})
		case k == "authenticated", k == "guest", k == "resource":
			out = append(out, grant{who: k, actions: actions})
		}
	}
	return out
}

package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
)

// Files of a Gen 1 project the reader uses, relative to its root.
const (
	gen1BackendConfig = "amplify/backend/backend-config.json"
	gen1Meta          = "amplify/backend/amplify-meta.json"
	gen1TPI           = "amplify/team-provider-info.json"
)

// ReadGen1 reads a Gen 1 project's S3 storage through fsys (rooted at
// the project root): every storage resource of service S3 in
// backend-config.json, its access from cli-inputs.json (or, in projects
// made before CLI 7, parameters.json), its deployed bucket from
// amplify-meta.json, and the identity pool of the Cognito auth resource.
// env picks the team-provider-info.json entry of imported auth ("" when
// unknown).
func ReadGen1(fsys fs.FS, env string) (*Plan, error) {
	p := newPlan(1)
	backend, ok, err := readJSON(fsys, gen1BackendConfig)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("read %s: file is missing; this Amplify project has no backend (run `amplify pull` if it should have one)", gen1BackendConfig)
	}
	meta, metaOK, err := readJSON(fsys, gen1Meta)
	if err != nil {
		return nil, err
	}
	tpi, _, err := readJSON(fsys, gen1TPI)
	if err != nil {
		return nil, err
	}

	var names []string
	var bad error
	backend.Get("storage").ForEach(func(k, v gjson.Result) bool {
		if v.Get("service").String() != "S3" {
			return true // DynamoDB tables live in the storage category too
		}
		if err := amplifyproj.CheckResourceName("storage resource in "+gen1BackendConfig, k.String()); err != nil {
			bad = err
			return false
		}
		names = append(names, k.String())
		return true
	})
	if bad != nil {
		return nil, bad
	}
	sort.Strings(names)
	for _, name := range names {
		b, err := readGen1Bucket(fsys, p, name)
		if err != nil {
			return nil, err
		}
		out := meta.Get("storage." + gjson.Escape(name) + ".output")
		if bn := out.Get("BucketName").String(); bn != "" {
			if err := checkBucketName(gen1Meta+" storage."+name+".output.BucketName", bn); err != nil {
				return nil, err
			}
			b.BucketName = bn
		} else if metaOK {
			p.warn("BUCKET_NAME_UNKNOWN", "storage %s: %s names no deployed bucket (storage.%s.output.BucketName): push the resource (`amplify push`) or run `amplify pull`", name, gen1Meta, name)
		}
		b.Region = out.Get("Region").String()
		if err := checkRegion(gen1Meta+" storage."+name+".output.Region", b.Region); err != nil {
			return nil, err
		}
		p.Buckets = append(p.Buckets, b)
	}
	if len(p.Buckets) == 1 {
		p.Buckets[0].Default = true
	}
	if len(p.Buckets) > 0 && !metaOK {
		p.warn("META_MISSING", "%s is missing (it is git-ignored): the deployed bucket names and the identity pool id are unknown; run `amplify pull` first", gen1Meta)
	}
	if err := readGen1IdentityPool(p, backend, meta, tpi, env); err != nil {
		return nil, err
	}
	p.chooseRoute()
	return p, nil
}

// readGen1IdentityPool finds the identity pool of the project's Cognito
// auth resource: amplify-meta.json's output, else (imported auth)
// team-provider-info.json's entry for env.
func readGen1IdentityPool(p *Plan, backend, meta, tpi gjson.Result, env string) error {
	var auth []string
	backend.Get("auth").ForEach(func(k, v gjson.Result) bool {
		if v.Get("service").String() == "Cognito" {
			auth = append(auth, k.String())
		}
		return true
	})
	sort.Strings(auth)
	for _, a := range auth {
		if id := meta.Get("auth." + gjson.Escape(a) + ".output.IdentityPoolId").String(); id != "" {
			p.IdentityPool = IdentityPool{ID: id, Source: gen1Meta + " auth." + a + ".output.IdentityPoolId"}
			break
		}
		if env == "" {
			continue
		}
		if id := tpi.Get(gjson.Escape(env) + ".categories.auth." + gjson.Escape(a) + ".identityPoolId").String(); id != "" {
			p.IdentityPool = IdentityPool{ID: id, Source: gen1TPI + " " + env + ".categories.auth." + a + ".identityPoolId"}
			break
		}
	}
	if p.IdentityPool.ID != "" {
		if err := checkIdentityPoolID(p.IdentityPool.Source, p.IdentityPool.ID); err != nil {
			return err
		}
	}
	// `amplify remove auth` deletes the identity pool with the auth
	// stack; nothing in poolmigrate keeps it yet.
	p.IdentityPool.Survives = false
	return nil
}

// readGen1Bucket reads one S3 resource's access settings.
func readGen1Bucket(fsys fs.FS, p *Plan, name string) (Bucket, error) {
	b := Bucket{Resource: name, IdentityPaths: []IdentityPath{}, Access: []Access{}}
	dir := "amplify/backend/storage/" + name
	in, ok, err := readJSON(fsys, dir+"/cli-inputs.json")
	if err != nil {
		return b, err
	}
	if ok {
		return b, gen1FromCLIInputs(&b, in, dir+"/cli-inputs.json")
	}
	params, ok, err := readJSON(fsys, dir+"/parameters.json")
	if err != nil {
		return b, err
	}
	if ok {
		return b, gen1FromParameters(&b, params, dir+"/parameters.json")
	}
	p.warn("STORAGE_SETTINGS_MISSING", "storage %s: neither %s/cli-inputs.json nor %s/parameters.json is there, so who may reach which path is unknown; restore the folder (git, or `amplify pull`)", name, dir, dir)
	return b, nil
}

// gen1Permissions are cli-inputs.json's permission names.
var gen1Permissions = map[string]string{"CREATE_AND_UPDATE": "write", "READ": "read", "DELETE": "delete"}

// gen1FromCLIInputs applies the Amplify CLI's S3 stack (category-storage
// s3-stack-builder): signed-in users get authAccess on public/*,
// protected/{id}/* and private/{id}/*, and read on protected/* when they
// may read; guests (storageAccess authAndGuest) get guestAccess on
// public/* and read on protected/*; each group gets its access on the
// whole bucket.
func gen1FromCLIInputs(b *Bucket, in gjson.Result, file string) error {
	perms := func(key string) ([]string, error) {
		var out []string
		for _, v := range in.Get(key).Array() {
			a, ok := gen1Permissions[v.String()]
			if !ok {
				return nil, fmt.Errorf("read %s: %s holds %q, not one of CREATE_AND_UPDATE, READ, DELETE; fix the file (`amplify update storage`) and run again", file, key, v.String())
			}
			out = union(out, []string{a})
		}
		return out, nil
	}
	access := in.Get("storageAccess").String()
	switch access {
	case "auth", "authAndGuest":
	default:
		return fmt.Errorf("read %s: storageAccess is %q, not auth or authAndGuest; fix the file (`amplify update storage`) and run again", file, access)
	}
	auth, err := perms("authAccess")
	if err != nil {
		return err
	}
	var guest []string
	if access == "authAndGuest" {
		if guest, err = perms("guestAccess"); err != nil {
			return err
		}
	}
	groups := map[string][]string{}
	var bad error
	in.Get("groupAccess").ForEach(func(k, v gjson.Result) bool {
		var g []string
		for _, x := range v.Array() {
			a, ok := gen1Permissions[x.String()]
			if !ok {
				bad = fmt.Errorf("read %s: groupAccess.%s holds %q, not one of CREATE_AND_UPDATE, READ, DELETE; fix the file (`amplify update storage`) and run again", file, k.String(), x.String())
				return false
			}
			g = union(g, []string{a})
		}
		groups[k.String()] = g
		return true
	})
	if bad != nil {
		return bad
	}
	gen1Grants(b, auth, guest, groups)
	return nil
}

// gen1FromParameters reads a resource made before CLI 7, whose
// parameters.json holds the stack's permission parameters (comma-joined
// S3 actions, or DISALLOW).
func gen1FromParameters(b *Bucket, params gjson.Result, file string) error {
	actions := func(key string) []string {
		v := params.Get(key).String()
		if v == "" || v == "DISALLOW" {
			return nil
		}
		var out []string
		for _, a := range strings.Split(v, ",") {
			switch strings.TrimSpace(a) {
			case "s3:GetObject":
				out = union(out, []string{"read"})
			case "s3:PutObject":
				out = union(out, []string{"write"})
			case "s3:DeleteObject":
				out = union(out, []string{"delete"})
			}
		}
		return out
	}
	if private := actions("s3PermissionsAuthenticatedPrivate"); len(private) > 0 {
		b.addIdentityPath("private/"+EntityID+"/", private)
		b.Access = append(b.Access, Access{Path: "private/" + EntityID + "/*", Who: "owner", Actions: private})
	}
	if protected := actions("s3PermissionsAuthenticatedProtected"); len(protected) > 0 {
		b.addIdentityPath("protected/"+EntityID+"/", protected)
		b.Access = append(b.Access, Access{Path: "protected/" + EntityID + "/*", Who: "owner", Actions: protected})
	}
	if pub := actions("s3PermissionsAuthenticatedPublic"); len(pub) > 0 {
		b.Access = append(b.Access, Access{Path: "public/*", Who: "authenticated", Actions: pub})
	}
	if params.Get("AuthenticatedAllowList").String() == "ALLOW" {
		b.Access = append(b.Access, Access{Path: "protected/*", Who: "authenticated", Actions: []string{"read"}})
	}
	if pub := actions("s3PermissionsGuestPublic"); len(pub) > 0 {
		b.Access = append(b.Access, Access{Path: "public/*", Who: "guest", Actions: pub})
	}
	if params.Get("GuestAllowList").String() == "ALLOW" {
		b.Access = append(b.Access, Access{Path: "protected/*", Who: "guest", Actions: []string{"read"}})
	}
	return nil
}

func gen1Grants(b *Bucket, auth, guest []string, groups map[string][]string) {
	if len(auth) > 0 {
		for _, folder := range []string{"private", "protected"} {
			b.addIdentityPath(folder+"/"+EntityID+"/", auth)
			b.Access = append(b.Access, Access{Path: folder + "/" + EntityID + "/*", Who: "owner", Actions: auth})
		}
		b.Access = append(b.Access, Access{Path: "public/*", Who: "authenticated", Actions: auth})
		if contains(auth, "read") {
			b.Access = append(b.Access, Access{Path: "protected/*", Who: "authenticated", Actions: []string{"read"}})
		}
		if contains(auth, "write") {
			b.Access = append(b.Access, Access{Path: "uploads/*", Who: "authenticated", Actions: []string{"write"}})
		}
	}
	if len(guest) > 0 {
		b.Access = append(b.Access, Access{Path: "public/*", Who: "guest", Actions: guest})
		if contains(guest, "read") {
			b.Access = append(b.Access, Access{Path: "protected/*", Who: "guest", Actions: []string{"read"}})
		}
		if contains(guest, "write") {
			b.Access = append(b.Access, Access{Path: "uploads/*", Who: "guest", Actions: []string{"write"}})
		}
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		if len(groups[g]) > 0 {
			b.Access = append(b.Access, Access{Path: "*", Who: "group", Group: g, Actions: groups[g]})
		}
	}
}

// readJSON reads a project JSON file through amplifyproj's bounded reader
// and check. A missing file is not an error.
func readJSON(fsys fs.FS, path string) (gjson.Result, bool, error) {
	data, err := amplifyproj.ReadFile(fsys, path, amplifyproj.MaxJSONSize)
	if errors.Is(err, fs.ErrNotExist) {
		return gjson.Result{}, false, nil
	}
	if err != nil {
		return gjson.Result{}, false, err
	}
	if err := amplifyproj.CheckJSON(path, data); err != nil {
		return gjson.Result{}, true, fmt.Errorf("%w; fix the file (or restore it with git) and run again", err)
	}
	return gjson.ParseBytes(data), true, nil
}

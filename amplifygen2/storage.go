package amplifygen2

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
)

// StoragePath is the file a Gen 2 app declares its buckets in
// (defineStorage), one export per bucket.
const StoragePath = "amplify/storage/resource.ts"

// Storage is one bucket as defineStorage declares it.
type Storage struct {
	// Export is the name the file exports it under (the key
	// defineBackend usually gives it).
	Export string
	// Name is defineStorage's name: the bucket's friendly name, the
	// "name" of its entry in amplify_outputs.json storage.buckets.
	Name      string
	IsDefault bool
	// Access lists the access paths in the order the file writes them.
	Access []StorageAccess
}

// StorageAccess is one path of defineStorage's access and who may do
// what under it.
type StorageAccess struct {
	Path  string // as written, e.g. "media/{entity_id}/*"
	Rules []StorageRule
}

// StorageRule is one allow.* entry of an access path.
type StorageRule struct {
	// Who is "guest", "authenticated", "groups", "entity" or "resource".
	Who string
	// Groups are the groups of allow.groups([...]).
	Groups []string
	// Entity is allow.entity's argument ("identity").
	Entity  string
	Actions []string
}

// ReadStorage reads amplify/storage/resource.ts the way Load reads the
// auth and data files (bundled, run in the evaluator child with its
// limits) and returns every defineStorage(...) it exports. A project
// without the file has no storage: nil, nil. Load does not call it, so a
// storage file never stops the commands that do not need it.
func ReadStorage(fsys fs.FS) ([]Storage, error) {
	if _, err := fs.Stat(fsys, StoragePath); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	exports, err := evaluate(fsys, StoragePath)
	if err != nil {
		return nil, err
	}
	out, err := readStorage(exports)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", StoragePath, err)
	}
	return out, nil
}

// readStorage interprets the recorded exports of storage/resource.ts.
func readStorage(exports value) ([]Storage, error) {
	var out []Storage
	for _, e := range exports.Entries {
		n := e.Value.Node
		if n == nil || n.Ctor != "defineStorage" {
			continue
		}
		props := n.arg(0)
		s := Storage{Export: e.Key}
		name, ok := props.get("name")
		if !ok || name.str() == "" {
			return nil, fmt.Errorf("defineStorage exported as %s has no name (defineStorage needs { name: '...' })", e.Key)
		}
		s.Name = name.str()
		if d, ok := props.get("isDefault"); ok {
			s.IsDefault, _ = d.Scalar.(bool)
		}
		if acc, ok := props.get("access"); ok {
			if acc.Entries == nil {
				return nil, fmt.Errorf("defineStorage %s: access is not a function returning { 'path/*': [allow...] }", s.Name)
			}
			for _, p := range acc.Entries {
				sa := StorageAccess{Path: p.Key}
				for _, r := range p.Value.items() {
					if r.Node == nil {
						continue
					}
					sa.Rules = append(sa.Rules, storageRule(r.Node))
				}
				s.Access = append(s.Access, sa)
			}
		}
		out = append(out, s)
	}
	// The bundle exports in alphabetical order, not the file's.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// storageRule reads allow.guest.to([...]), allow.authenticated.to([...]),
// allow.groups([...]).to([...]), allow.entity('identity').to([...]) and
// allow.resource(fn).to([...]) as the recorder wrote them.
func storageRule(n *node) StorageRule {
	var r StorageRule
	switch n.Ctor {
	case "guest.to", "authenticated.to":
		r.Who = n.Ctor[:len(n.Ctor)-len(".to")]
		r.Actions = n.arg(0).strings()
		return r
	case "groups":
		r.Who, r.Groups = "groups", n.arg(0).strings()
	case "entity":
		r.Who, r.Entity = "entity", n.arg(0).str()
	case "resource":
		r.Who = "resource"
	default:
		r.Who = n.Ctor
	}
	if args, ok := n.called("to"); ok && len(args) > 0 {
		r.Actions = args[0].strings()
	}
	return r
}

package amplifygen2

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// TestReadStorageRecordsEveryBucketAndRule: two buckets in one file, the
// four kinds of rule, {entity_id} mid-path, a helper file imported.
func TestReadStorageRecordsEveryBucketAndRule(t *testing.T) {
	fsys := fstest.MapFS{
		"amplify/backend.ts": {Data: []byte("export {}\n")},
		StoragePath: {Data: []byte(`import { defineStorage, defineFunction } from '@aws-amplify/backend';
import { ADMINS } from './groups';

const thumbnailer = defineFunction({ name: 'thumbs' });

export const media = defineStorage({
  name: 'mediaFiles',
  isDefault: true,
  access: (allow) => ({
    'public/*': [allow.guest.to(['read']), allow.authenticated.to(['read', 'write'])],
    'users/{entity_id}/photos/*': [
      allow.entity('identity').to(['read', 'write', 'delete']),
      allow.groups([ADMINS]).to(['read']),
    ],
    'thumbs/*': [allow.resource(thumbnailer).to(['write'])],
  }),
});

export const archive = defineStorage({ name: 'archive' });
const notExported = defineStorage({ name: 'hidden' });
`)},
		"amplify/storage/groups.ts": {Data: []byte("export const ADMINS: string = 'ADMINS';\n")},
	}
	got, err := ReadStorage(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []Storage{
		{Export: "archive", Name: "archive"},
		{Export: "media", Name: "mediaFiles", IsDefault: true, Access: []StorageAccess{
			{Path: "public/*", Rules: []StorageRule{{Who: "guest", Actions: []string{"read"}}, {Who: "authenticated", Actions: []string{"read", "write"}}}},
			{Path: "users/{entity_id}/photos/*", Rules: []StorageRule{
				{Who: "entity", Entity: "identity", Actions: []string{"read", "write", "delete"}},
				{Who: "groups", Groups: []string{"ADMINS"}, Actions: []string{"read"}},
			}},
			{Path: "thumbs/*", Rules: []StorageRule{{Who: "resource", Actions: []string{"write"}}}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadStorage:\n got %+v\nwant %+v", got, want)
	}
}

func TestReadStorageWithoutTheFile(t *testing.T) {
	got, err := ReadStorage(fstest.MapFS{"amplify/backend.ts": {Data: []byte("export {}\n")}})
	if err != nil || got != nil {
		t.Fatalf("ReadStorage: %v, %v; want nothing and no error", got, err)
	}
}

// TestReadStorageRefuses: what cannot be read is refused with the file's
// name, inside the evaluator's limits.
func TestReadStorageRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ body, want string }{
		"no name":       {"import { defineStorage } from '@aws-amplify/backend';\nexport const s = defineStorage({ access: (allow) => ({}) });\n", "has no name"},
		"throws":        {"throw new Error('no bucket today');\n", "no bucket today"},
		"syntax":        {"export const s = defineStorage({ name: \n", StoragePath},
		"access thrown": {"import { defineStorage } from '@aws-amplify/backend';\nexport const s = defineStorage({ name: 'x', access: 42 });\n", "access is not a function"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadStorage(fstest.MapFS{StoragePath: {Data: []byte(tc.body)}})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), StoragePath) {
				t.Fatalf("ReadStorage: %v, want a refusal naming %s and containing %q", err, StoragePath, tc.want)
			}
		})
	}
}

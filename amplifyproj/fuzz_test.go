package amplifyproj

import (
	"testing"
	"testing/fstest"
)

// FuzzLoad reads a project whose backend-config.json, amplify-meta.json
// and API parameters.json are the fuzzer's: Load must return a project or
// an error, never panic or crash (a stack overflow in gjson's validator
// once did). The seed corpus in testdata/fuzz/FuzzLoad holds the repo's
// fixture projects.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"auth":{"a1":{"service":"Cognito"}},"api":{"gql":{"service":"AppSync"}}}`), []byte(`{}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, backend, meta, params []byte) {
		fsys := baseProject()
		fsys[backendConfigPath] = &fstest.MapFile{Data: backend}
		fsys[amplifyMetaPath] = &fstest.MapFile{Data: meta}
		fsys["amplify/backend/api/gql/parameters.json"] = &fstest.MapFile{Data: params}
		p, err := Load(fsys, "/p", Options{AllowUnknownEnv: true})
		if err == nil && p == nil {
			t.Fatal("Load returned neither a project nor an error")
		}
		if err == nil {
			for _, api := range p.APIs {
				_, _ = ReadSchema(fsys, api)
			}
		}
	})
}

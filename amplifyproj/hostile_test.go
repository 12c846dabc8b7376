package amplifyproj

import (
	"bytes"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// TestDeeplyNestedJSONIsRefused feeds every project JSON file Load reads
// ten million nested "[": gjson's validator used to recurse once per
// level and kill the process with a stack overflow (~1.1 GB).
func TestDeeplyNestedJSONIsRefused(t *testing.T) {
	deep := bytes.Repeat([]byte("["), 10_000_000)
	for _, path := range []string{
		ProjectConfigPath, teamProviderInfoPath, localEnvInfoPath, localAWSInfoPath,
		amplifyMetaPath, backendConfigPath, cliJSONPath, "amplify/cli.dev.json",
		"amplify/backend/api/gql/parameters.json", "amplify/backend/api/gql/cli-inputs.json",
		"amplify/backend/api/gql/transform.conf.json",
	} {
		t.Run(path, func(t *testing.T) {
			fsys := baseProject()
			fsys[localEnvInfoPath] = &fstest.MapFile{Data: []byte(`{"envName":"dev"}`)}
			fsys[path] = &fstest.MapFile{Data: deep}
			_, err := Load(fsys, "/p", Options{})
			if err == nil || !strings.Contains(err.Error(), path+": values nested more than 10,000 levels deep") || !strings.Contains(err.Error(), "at line 1, column 10001") {
				t.Fatalf("Load: %v, want a refusal naming %s, line 1 and the nesting", err, path)
			}
		})
	}
}

// TestJSONErrorsNameLineAndColumn checks the position a refusal gives.
func TestJSONErrorsNameLineAndColumn(t *testing.T) {
	fsys := baseProject()
	fsys[backendConfigPath] = &fstest.MapFile{Data: []byte("{\n  \"auth\": {},\n  \"api\": {,}\n}\n")}
	_, err := Load(fsys, "/p", Options{Env: "dev"})
	if err == nil || !strings.Contains(err.Error(), backendConfigPath+": invalid character ',' looking for beginning of object key string, at line 3, column 11") {
		t.Fatalf("Load: %v", err)
	}
}

// TestOversizedAndSpecialFilesAreRefused: a project JSON file larger than
// MaxJSONSize, or one that is not a regular file, is refused by name
// before it is read whole.
func TestOversizedAndSpecialFilesAreRefused(t *testing.T) {
	fsys := baseProject()
	fsys[amplifyMetaPath] = &fstest.MapFile{Data: make([]byte, 32<<20+1)}
	_, err := Load(fsys, "/p", Options{Env: "dev"})
	if err == nil || !strings.Contains(err.Error(), amplifyMetaPath+": it holds 33554433 bytes, more than the 32 MiB") {
		t.Fatalf("Load: %v, want a refusal of the size of %s", err, amplifyMetaPath)
	}
	fsys = baseProject()
	fsys[amplifyMetaPath] = &fstest.MapFile{Mode: 0o644 | fs.ModeNamedPipe}
	if _, err := Load(fsys, "/p", Options{Env: "dev"}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Load of a FIFO: %v", err)
	}
}

// TestOversizedSchemasAreRefused: a schema over 4 MiB, in one file or
// summed over the schema/ folder, is refused before it is read whole (a
// 50 MB schema.graphql took 2.7 GB and 30 s to parse).
func TestOversizedSchemasAreRefused(t *testing.T) {
	big := bytes.Repeat([]byte("# padding\n"), 2<<20/10+1) // a little over 2 MiB
	api := API{Name: "gql", Dir: "amplify/backend/api/gql"}
	for name, files := range map[string]fstest.MapFS{
		"one file":     {"amplify/backend/api/gql/schema.graphql": {Data: append(append([]byte{}, big...), big...)}},
		"a folder sum": {"amplify/backend/api/gql/schema/a.graphql": {Data: big}, "amplify/backend/api/gql/schema/b.graphql": {Data: big}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadSchema(files, api)
			if err == nil || !strings.Contains(err.Error(), "it holds more than 4 MiB") {
				t.Fatalf("ReadSchema: %v, want a refusal of the size", err)
			}
			if name == "a folder sum" && !strings.Contains(err.Error(), "up to amplify/backend/api/gql/schema/b.graphql") {
				t.Errorf("the refusal does not name the file that passed the limit: %v", err)
			}
		})
	}
}

package deploy

import (
	"context"
	"io/fs"
	"os"

	"github.com/poolmigrate/poolmigrate/trigger"
)

// SourceFiles are the files the function is built from (patterns of
// path.Match): the module's go.mod and go.sum, package tokenmint/trio and
// cmd/tokenmint-lambda. A binary carries them (go:embed in package main,
// as it carries the migration trigger's) and builds the function from
// that copy only: the function decides who gets a token, so no go.mod
// found around the working folder may become it.
var SourceFiles = []string{"go.mod", "go.sum", "tokenmint/trio/*.go", "cmd/tokenmint-lambda/*.go"}

// Build compiles cmd/tokenmint-lambda as the bootstrap of provided.al2023
// for arch (arm64 or amd64) from the module source at src and zips it, as
// trigger.Build does for the migration trigger (out empty: a fresh private
// folder).
func Build(ctx context.Context, src, out, arch string) (trigger.Built, error) {
	return trigger.BuildCommand(ctx, src, out, arch, "./cmd/tokenmint-lambda", "tokenmint.zip")
}

// BuildEmbedded is Build from the binary's own embedded source (SourceFiles
// in src), unpacked into a private folder that is removed afterwards.
func BuildEmbedded(ctx context.Context, src fs.FS, out, arch string) (trigger.Built, error) {
	dir, err := trigger.UnpackFiles(src, SourceFiles, "cmd/tokenmint-lambda/main.go", "tokenmint")
	if err != nil {
		return trigger.Built{}, err
	}
	defer os.RemoveAll(dir)
	return Build(ctx, dir, out, arch)
}

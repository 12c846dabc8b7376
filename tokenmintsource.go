package main

import "embed"

// tokenmintSource is the token function's own source, carried in the binary
// (tokenmint/deploy.SourceFiles): `storage copy` builds the custom-auth
// trio from it, never from a go.mod found around the working folder.
//
//go:embed go.mod go.sum tokenmint/trio/*.go cmd/tokenmint-lambda/*.go
var tokenmintSource embed.FS

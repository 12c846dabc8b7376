package main

import "embed"

// triggerSource is the user migration trigger's own source, carried in the
// binary (trigger.SourceFiles): `trigger build` and `trigger deploy` build
// the trigger from it, never from a go.mod found around the working
// folder.
//
//go:embed go.mod go.sum trigger/*.go cmd/migration-trigger/*.go
var triggerSource embed.FS

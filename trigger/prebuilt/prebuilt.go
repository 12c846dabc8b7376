// Package prebuilt carries the user migration trigger's deployment
// package (bootstrap for provided.al2023, arm64, zipped) inside release
// builds of poolmigrate, so `trigger deploy` needs no Go. scripts/package.sh
// builds the zip into this folder and compiles poolmigrate with the
// "prebuilt_trigger" tag; other builds carry nothing (Zip is nil) and
// build the trigger from source when they deploy it.
package prebuilt

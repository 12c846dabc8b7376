// Package prebuilt carries the token function's deployment packages (the
// custom-auth trio's bootstrap for provided.al2023, zipped, for arm64 and
// for amd64) inside release builds of poolmigrate, so `storage copy` and
// `storage link` need no Go. scripts/package.sh builds both zips into this
// folder (cmd/tokenmint-package, from the same files the binary embeds as
// the function's source) and compiles poolmigrate with the
// "prebuilt_tokenmint" tag; other builds carry nothing (For returns nil)
// and build the function from the binary's own source when they deploy it.
package prebuilt

// For returns the prebuilt package for a Lambda architecture (arm64;
// amd64 or x86_64), or nil when this build carries none.
func For(arch string) []byte {
	switch arch {
	case "arm64":
		return zipARM64
	case "amd64", "x86_64":
		return zipAMD64
	}
	return nil
}

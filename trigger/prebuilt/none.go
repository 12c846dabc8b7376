//go:build !prebuilt_trigger

package prebuilt

// Builds from source carry no package: they build the trigger from their
// own source when deploying.
var zipARM64, zipAMD64 []byte

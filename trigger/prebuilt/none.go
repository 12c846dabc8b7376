//go:build !prebuilt_trigger

package prebuilt

// Zip is nil in builds from source: they build the trigger when deploying.
var Zip []byte

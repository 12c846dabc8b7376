//go:build !prebuilt_tokenmint

package prebuilt

// Builds from source carry no package: they build the token function from
// their own source when deploying it.
var zipARM64, zipAMD64 []byte

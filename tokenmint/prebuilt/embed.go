//go:build prebuilt_tokenmint

package prebuilt

import _ "embed"

// The token function's deployment packages, for each architecture Lambda
// runs.
var (
	//go:embed tokenmint-arm64.zip
	zipARM64 []byte
	//go:embed tokenmint-amd64.zip
	zipAMD64 []byte
)

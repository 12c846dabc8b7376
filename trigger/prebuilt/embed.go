//go:build prebuilt_trigger

package prebuilt

import _ "embed"

// The trigger's deployment packages, for each architecture Lambda runs.
var (
	//go:embed migration-trigger-arm64.zip
	zipARM64 []byte
	//go:embed migration-trigger-amd64.zip
	zipAMD64 []byte
)

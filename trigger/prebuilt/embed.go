//go:build prebuilt_trigger

package prebuilt

import _ "embed"

// Zip is the trigger's deployment package, for arm64.
//
//go:embed migration-trigger.zip
var Zip []byte

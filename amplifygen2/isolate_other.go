//go:build !unix

package amplifygen2

// limitMemory has no address-space limit to set here (Windows has no
// RLIMIT_AS): the evaluation is bounded by the parent's hard kill after
// its timeout alone.
func limitMemory(growth int64) error { return nil }

//go:build !faultinject

package s3move

// faultPoint marks a step of a copy where a test build (tag faultinject)
// can kill the process; in every other build it does nothing.
func faultPoint(string) {}

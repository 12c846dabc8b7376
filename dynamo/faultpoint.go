//go:build !faultinject

package dynamo

// faultPoint marks a step of a write where a test build (tag faultinject)
// can kill the process; in every other build it does nothing.
func faultPoint(string) {}

// Package gen2e2e holds the end-to-end test of an Amplify Gen 2 migration:
// poolmigrate run in-process on a copy of examples/gen2-app, the real Gen 2
// toolchain synthesizing each step and testbed/gen2sim playing the
// deploys. It is a package of its own so its synthesis time counts
// against its own test timeout, not the cli package's.
package gen2e2e

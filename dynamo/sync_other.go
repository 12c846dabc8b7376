//go:build !linux

package dynamo

import "os"

func syncData(f *os.File) error { return f.Sync() }

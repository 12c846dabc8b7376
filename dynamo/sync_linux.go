package dynamo

import (
	"os"
	"syscall"
)

// syncData makes the journal's appended bytes durable; fdatasync skips the
// metadata an append does not need.
func syncData(f *os.File) error {
	return syscall.Fdatasync(int(f.Fd()))
}

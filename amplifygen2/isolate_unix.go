//go:build unix

package amplifygen2

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// limitMemory caps this process's address space at its present size
// plus growth. Go reserves much address space it never touches (the page
// allocator's summaries alone take hundreds of megabytes), and how much
// depends on the binary, so the cap is taken from the size the process
// has now rather than fixed. Where the size cannot be read (no /proc),
// the cap leaves 4 GiB for the reservations.
func limitMemory(growth int64) error {
	base := int64(4 << 30)
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmSize:"); ok {
				var kb int64
				if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err == nil && kb > 0 {
					base = kb << 10
				}
			}
		}
	}
	lim := uint64(base + growth)
	return syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: lim, Max: lim})
}

package s3move

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// A resume reads what its journal says is done into sets of 64-bit
// numbers (settled destinations' hashes, copies' sequence numbers). Held
// in memory they grow with the journal (8 B an object, 67 MiB at the peak
// for a million); past spillChunk numbers they go to a file of sorted
// 8-byte big-endian numbers beside the journal, so a resume's memory is
// the same for a thousand objects and for ten million. The files are
// temporary (0600, unlinked once open where the system allows, else at
// close; a killed run's are swept by the next run under the journal's
// lock): each run builds its own from the journal and never reads
// another's.
//
// No library: an embedded store (go.etcd.io/bbolt, cockroachdb/pebble)
// would keep the sets too, but as a B-tree or an LSM tree with its own
// caches, pages and write amplification, for what is a sorted array of
// fixed-width numbers written once and searched; sort, merge and search
// here are the standard library's (slices, container/heap) and a page
// read.

// spillChunk is how many numbers a set keeps in memory (512 KiB) before
// it writes them to a sorted run; a var so tests can make runs small.
var spillChunk = 64 << 10

// spillFanIn runs of a size are merged into one of the next size, so a
// set has few runs open however large it grows.
const spillFanIn = 16

// spillPage is how many numbers a lookup reads at once (4 KiB).
const spillPage = 512

// spillPattern names a journal's spill files (os.CreateTemp's pattern).
func spillPattern(journal string) string { return filepath.Base(journal) + ".spill-*" }

// sweepSpills removes spill files a killed run left beside the journal:
// they are never read (each run builds its own), only in the way. Called
// under the journal's lock.
func sweepSpills(journal string) {
	dir := filepath.Dir(journal)
	prefix := strings.TrimSuffix(spillPattern(journal), "*")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), prefix) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// spillFile is a temporary file of sorted numbers. Its lookups (has) are
// safe for concurrent use; its writes are not.
type spillFile struct {
	mu   sync.Mutex // over the page
	f    *os.File
	n    int64  // numbers in it
	page []byte // the last page read: numbers at..at+len/8
	at   int64
	// first and last number, kept for lookups.
	first, last uint64
	// unlinked: the file has no name left to remove.
	unlinked bool
}

// createSpill makes a temporary file beside the journal (0600), or in the
// system's temporary folder if the journal's folder takes no new file (a
// verify of a copied journal on a read-only disk).
func createSpill(journal string) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(journal), spillPattern(journal))
	if err != nil {
		f, err = os.CreateTemp("", "poolmigrate-"+spillPattern(journal))
	}
	if err != nil {
		return nil, fmt.Errorf("create a resume index beside journal %s: %w", journal, err)
	}
	return f, nil
}

// newSpillFile makes an empty spill file: unlinked at once where the
// system allows (the open file lives until closed, and a kill leaves
// nothing behind), else removed at close.
func newSpillFile(journal string) (*spillFile, error) {
	f, err := createSpill(journal)
	if err != nil {
		return nil, err
	}
	return &spillFile{f: f, unlinked: os.Remove(f.Name()) == nil}, nil
}

func (s *spillFile) close() {
	if s == nil || s.f == nil {
		return
	}
	s.f.Close()
	if !s.unlinked {
		os.Remove(s.f.Name())
	}
	s.f = nil
}

// get returns the i-th number, reading a page at a time (the last page
// read is kept, as read: a lookup decodes only the numbers it looks at).
func (s *spillFile) get(i int64) (uint64, error) {
	if s.page == nil || i < s.at || i >= s.at+int64(len(s.page)/8) {
		at := i - i%spillPage
		n := min(int64(spillPage), s.n-at)
		if s.page == nil {
			s.page = make([]byte, 0, 8*spillPage)
		}
		s.page = s.page[:8*n]
		if _, err := s.f.ReadAt(s.page, 8*at); err != nil {
			s.page = nil
			return 0, fmt.Errorf("read resume index: %w", err)
		}
		s.at = at
	}
	return binary.BigEndian.Uint64(s.page[8*(i-s.at):]), nil
}

// has tells whether the sorted file holds v: an interpolation search
// (the numbers are hashes or rising counts, spread evenly: a page or two
// a lookup), each step that does not halve the range followed by a
// bisection, so an uneven file costs at most twice a binary search.
func (s *spillFile) has(v uint64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lo, hi := int64(0), s.n-1
	if hi < 0 {
		return false, nil
	}
	a, b := s.first, s.last
	bisect := false
	for lo <= hi {
		if v < a || v > b {
			return false, nil
		}
		if v == a || v == b {
			return true, nil
		}
		// a < v < b: v is strictly inside (lo, hi).
		if hi-lo < 2 {
			return false, nil
		}
		var mid int64
		if bisect {
			mid = lo + (hi-lo)/2
		} else {
			// (v-a)/(b-a) of the way, without overflow.
			frac := float64(v-a) / float64(b-a)
			mid = lo + 1 + int64(frac*float64(hi-lo-2))
		}
		mid = min(max(mid, lo+1), hi-1)
		m, err := s.get(mid)
		if err != nil {
			return false, err
		}
		width := hi - lo
		switch {
		case m == v:
			return true, nil
		case m < v:
			lo, a = mid, m
		default:
			hi, b = mid, m
		}
		bisect = !bisect && hi-lo > width/2
	}
	return false, nil
}

// writeNumbers appends sorted numbers to a spill file.
func (s *spillFile) writeNumbers(vs []uint64) error {
	w := bufio.NewWriterSize(io.NewOffsetWriter(s.f, 8*s.n), 64<<10)
	var b [8]byte
	for _, v := range vs {
		binary.BigEndian.PutUint64(b[:], v)
		if _, err := w.Write(b[:]); err != nil {
			return fmt.Errorf("write resume index: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write resume index: %w", err)
	}
	if len(vs) > 0 {
		if s.n == 0 {
			s.first = vs[0]
		}
		s.last = vs[len(vs)-1]
	}
	s.n += int64(len(vs))
	s.page = nil // the last page may have grown
	return nil
}

// risingSet holds rising numbers (the copies' sequence numbers, which a
// journal writes in order): the last spillChunk in memory, the earlier
// ones appended to a file that is sorted as written.
type risingSet struct {
	journal string
	mem     []uint64
	file    *spillFile
}

func (r *risingSet) add(v uint64) error {
	if len(r.mem) == spillChunk {
		if r.file == nil {
			f, err := newSpillFile(r.journal)
			if err != nil {
				return err
			}
			r.file = f
		}
		if err := r.file.writeNumbers(r.mem); err != nil {
			return err
		}
		r.mem = r.mem[:0]
	}
	r.mem = append(r.mem, v)
	return nil
}

func (r *risingSet) has(v uint64) (bool, error) {
	if len(r.mem) > 0 && v >= r.mem[0] {
		_, ok := slices.BinarySearch(r.mem, v)
		return ok, nil
	}
	if r.file == nil {
		return false, nil
	}
	return r.file.has(v)
}

func (r *risingSet) close() { r.file.close() }

// hashSet holds numbers added in any order (settled destinations'
// hashes), all added before the first lookup: an external sort. Each
// spillChunk numbers are sorted into a run file; spillFanIn runs of one
// level are merged into one of the next; finish merges what is left into
// one sorted file without repeats, searched on disk. A set that never
// fills a chunk stays in memory, sorted.
type hashSet struct {
	journal string
	mem     []uint64
	levels  [][]*spillFile
	file    *spillFile // after finish, if spilled
	n       int64
}

func (h *hashSet) add(v uint64) error {
	if len(h.mem) == spillChunk {
		if err := h.spill(); err != nil {
			return err
		}
	}
	h.mem = append(h.mem, v)
	return nil
}

// spill writes the numbers in memory as a run of level 0 and merges full
// levels.
func (h *hashSet) spill() error {
	slices.Sort(h.mem)
	h.mem = slices.Compact(h.mem)
	f, err := newSpillFile(h.journal)
	if err != nil {
		return err
	}
	if err := f.writeNumbers(h.mem); err != nil {
		f.close()
		return err
	}
	h.mem = h.mem[:0]
	if len(h.levels) == 0 {
		h.levels = append(h.levels, nil)
	}
	h.levels[0] = append(h.levels[0], f)
	for l := 0; l < len(h.levels) && len(h.levels[l]) >= spillFanIn; l++ {
		merged, err := h.merge(h.levels[l])
		if err != nil {
			return err
		}
		h.levels[l] = nil
		if l+1 == len(h.levels) {
			h.levels = append(h.levels, nil)
		}
		h.levels[l+1] = append(h.levels[l+1], merged)
	}
	return nil
}

// finish ends the adding: the set is ready for lookups.
func (h *hashSet) finish() error {
	if len(h.levels) == 0 {
		slices.Sort(h.mem)
		h.mem = slices.Compact(h.mem)
		h.n = int64(len(h.mem))
		return nil
	}
	if len(h.mem) > 0 {
		if err := h.spill(); err != nil {
			return err
		}
	}
	var runs []*spillFile
	for _, l := range h.levels {
		runs = append(runs, l...)
	}
	h.levels = nil
	f, err := h.merge(runs)
	if err != nil {
		return err
	}
	h.file, h.n, h.mem = f, f.n, nil
	return nil
}

// merge merges sorted runs into one, without repeats, and closes them.
func (h *hashSet) merge(runs []*spillFile) (*spillFile, error) {
	defer func() {
		for _, r := range runs {
			r.close()
		}
	}()
	out, err := newSpillFile(h.journal)
	if err != nil {
		return nil, err
	}
	q := make(runHeap, 0, len(runs))
	for _, r := range runs {
		c := &runCursor{r: bufio.NewReaderSize(io.NewSectionReader(r.f, 0, 8*r.n), 4<<10)}
		if ok, err := c.next(); err != nil {
			out.close()
			return nil, err
		} else if ok {
			q = append(q, c)
		}
	}
	heap.Init(&q)
	buf := make([]uint64, 0, 4<<10)
	var last uint64
	first := true
	for len(q) > 0 {
		c := q[0]
		if first || c.v != last {
			buf = append(buf, c.v)
			last, first = c.v, false
			if len(buf) == cap(buf) {
				if err := out.writeNumbers(buf); err != nil {
					out.close()
					return nil, err
				}
				buf = buf[:0]
			}
		}
		ok, err := c.next()
		if err != nil {
			out.close()
			return nil, err
		}
		if ok {
			heap.Fix(&q, 0)
		} else {
			heap.Pop(&q)
		}
	}
	if err := out.writeNumbers(buf); err != nil {
		out.close()
		return nil, err
	}
	return out, nil
}

func (h *hashSet) has(v uint64) (bool, error) {
	if h.file == nil {
		_, ok := slices.BinarySearch(h.mem, v)
		return ok, nil
	}
	return h.file.has(v)
}

func (h *hashSet) close() {
	for _, l := range h.levels {
		for _, r := range l {
			r.close()
		}
	}
	h.file.close()
}

// runCursor reads one run of a merge.
type runCursor struct {
	r *bufio.Reader
	v uint64
}

func (c *runCursor) next() (bool, error) {
	var b [8]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, fmt.Errorf("read resume index: %w", err)
	}
	c.v = binary.BigEndian.Uint64(b[:])
	return true, nil
}

type runHeap []*runCursor

func (q runHeap) Len() int           { return len(q) }
func (q runHeap) Less(i, j int) bool { return q[i].v < q[j].v }
func (q runHeap) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *runHeap) Push(x any)        { *q = append(*q, x.(*runCursor)) }
func (q *runHeap) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

package cognito

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/poolmigrate/poolmigrate/statedir"
)

// ExportResult is what `export --json` prints.
type ExportResult struct {
	Users    int64    `json:"users"`
	Exported int64    `json:"exported"`
	Rejected int64    `json:"rejected"`
	Files    []string `json:"files"`
	LineMaps []string `json:"lineMaps"`
	Rejects  string   `json:"rejects"`
	// RejectedBy counts rejected users by code.
	RejectedBy map[string]int64 `json:"rejectedBy"`
}

// UnresolvedError is returned when blocking problems remain that no policy
// decides; nothing is written.
type UnresolvedError struct {
	Problems []Problem
}

func (e *UnresolvedError) Error() string {
	var b strings.Builder
	b.WriteString("export refused: problems remain that would make the import reject or lose users:")
	for _, p := range e.Problems {
		if poolLevel[p.Code] {
			fmt.Fprintf(&b, "\n  %s: %s; fix with: %s", p.Code, p.Message, p.Fix)
			continue
		}
		fmt.Fprintf(&b, "\n  %s: %d user(s)", p.Code, p.Count)
		if len(p.Users) > 0 {
			fmt.Fprintf(&b, " (%s)", sample(p.Users, 5))
		}
		fmt.Fprintf(&b, "; decide with: %s", p.Fix)
	}
	return b.String()
}

// ExitCode makes an unresolved export exit 1 like a blocking check.
func (e *UnresolvedError) ExitCode() int { return 1 }

func sample(users []string, n int) string {
	if len(users) <= n {
		return strings.Join(users, ", ")
	}
	return strings.Join(users[:n], ", ") + fmt.Sprintf(", and %d more", len(users)-n)
}

// rejectReason decides, for one user, whether export rejects it and why:
// the codes that decide it first, then its other blocking problems;
// unresolved lists the blocking codes no policy decides for a user that
// nothing rejects.
func (a *Analysis) rejectReason(u User, codes []string) (rejected []string, unresolved []string) {
	decided, open := a.decide(codes)
	if code, lost := a.losers[u.Sub]; lost {
		decided = append([]string{code}, decided...)
	}
	if len(decided) == 0 {
		return nil, open
	}
	sort.Strings(decided)
	sort.Strings(open)
	return append(dedupe(decided), open...), nil
}

// poolLevel are problems of the target pool, not of users.
var poolLevel = map[string]bool{CodePrevAttributesMissing: true, CodeNoAutoVerified: true}

// Unresolved lists the blocking problems that the policies leave open,
// each with only the users that nothing else leaves out.
func (a *Analysis) Unresolved() []Problem {
	var out []Problem
	for _, p := range a.Report().Problems {
		if !p.Blocking {
			continue
		}
		switch {
		case p.Code == CodeDuplicateEmail || p.Code == CodeDuplicatePhone || p.Code == CodeDuplicateUsername:
			if a.Policies.OnDuplicate == "keep-newest" || a.Policies.OnDuplicate == "keep-oldest" {
				continue
			}
		case poolLevel[p.Code]:
			if a.Policies.Skip[p.Code] {
				continue
			}
		default:
			var users []string
			for name, ou := range a.open {
				if _, lost := a.losers[ou.sub]; lost {
					continue
				}
				for _, c := range ou.codes {
					if c == p.Code {
						users = append(users, name)
						break
					}
				}
			}
			if len(users) == 0 {
				continue
			}
			sort.Strings(users)
			p.Users, p.Count = users, len(users)
		}
		out = append(out, p)
	}
	return out
}

// Export writes the import CSVs for the target from a backup: columns as
// GetCSVHeader returns them, filled by attribute name, values escaped as the
// import parser reads them; files split at 500,000 rows or 100 MB, each
// with a line map (line number → old sub and username), since the import
// logs name failures by line only. Every user of the backup ends up in a
// CSV or in the rejects file with its reasons.
func (a *Analysis) Export(backupPath, outDir string) (ExportResult, error) {
	res := ExportResult{Files: []string{}, LineMaps: []string{}, RejectedBy: map[string]int64{}}
	if un := a.Unresolved(); len(un) > 0 {
		return res, &UnresolvedError{Problems: un}
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return res, fmt.Errorf("create %s: %w", outDir, err)
	}
	if entries, _ := os.ReadDir(outDir); len(entries) > 0 {
		return res, fmt.Errorf("%s is not empty: export into a new folder, so files of two exports never mix", outDir)
	}
	w := &csvSplitter{dir: outDir, target: a.Target, maxRows: a.Split.Rows, maxBytes: a.Split.Bytes}
	rejects, err := statedir.Create(filepath.Join(outDir, "rejects.jsonl"))
	if err != nil {
		return res, err
	}
	rw := bufio.NewWriter(rejects)
	renc := json.NewEncoder(rw)
	fail := func(err error) (ExportResult, error) {
		rejects.Abort()
		w.abort()
		return res, err
	}
	_, footer, err := ReadBackupFile(backupPath, BackupVisitor{User: func(u User) error {
		username := a.Target.NewUsername(u, a.Policies.UsernameFrom)
		codes, _ := a.Target.evaluate(u, username, a.Policies.markVerified())
		rejected, unresolved := a.rejectReason(u, codes)
		if len(unresolved) > 0 {
			return fmt.Errorf("user %s: %s is not decided (the backup changed since it was analysed?)", u.Username, strings.Join(unresolved, ", "))
		}
		if len(rejected) > 0 {
			res.Rejected++
			for _, c := range rejected {
				res.RejectedBy[c]++
			}
			return renc.Encode(map[string]any{"username": u.Username, "sub": u.Sub, "codes": rejected, "reason": codeInfo[rejected[0]].message})
		}
		res.Exported++
		return w.write(a.Target.Line(a.Target.BuildRow(u, username, a.Policies.markVerified())), u, username)
	}})
	if err != nil {
		return fail(err)
	}
	res.Users = footer.Users
	if res.Exported+res.Rejected != res.Users {
		return fail(fmt.Errorf("export lost track of users: %d exported + %d rejected != %d in the backup", res.Exported, res.Rejected, res.Users))
	}
	if err := rw.Flush(); err != nil {
		return fail(err)
	}
	if err := w.close(); err != nil {
		return fail(err)
	}
	if err := rejects.Commit(); err != nil {
		return res, err
	}
	res.Files, res.LineMaps = w.files, w.maps
	res.Rejects = filepath.Join(outDir, "rejects.jsonl")
	m := ExportManifest{TargetPool: a.Target.Pool.ID, SourcePool: a.SourcePool, BackupSHA256: footer.SHA256, Header: a.Target.Header, Exported: res.Exported, Rejected: res.Rejected}
	for i, f := range w.files {
		m.Files = append(m.Files, ExportFile{CSV: filepath.Base(f), LineMap: filepath.Base(w.maps[i]), Rows: w.counts[i]})
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	if err := statedir.WriteFile(filepath.Join(outDir, ManifestName), append(data, '\n')); err != nil {
		return res, err
	}
	return res, nil
}

// ManifestName is the file in an export folder that says what it holds.
const ManifestName = "export.json"

// ExportManifest ties an export folder to its backup and target pool, so
// an import cannot feed it to another pool.
type ExportManifest struct {
	TargetPool   string       `json:"targetPool"`
	SourcePool   string       `json:"sourcePool"`
	BackupSHA256 string       `json:"backupSha256"`
	Header       []string     `json:"header"`
	Files        []ExportFile `json:"files"`
	Exported     int64        `json:"exported"`
	Rejected     int64        `json:"rejected"`
}

// ExportFile is one CSV of an export and its line map.
type ExportFile struct {
	CSV     string `json:"csv"`
	LineMap string `json:"lineMap"`
	Rows    int    `json:"rows"`
}

// ReadExportManifest reads an export folder's manifest.
func ReadExportManifest(dir string) (ExportManifest, error) {
	var m ExportManifest
	data, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return m, fmt.Errorf("read export folder %s: %w (pass the folder `poolmigrate export` wrote)", dir, err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("read %s: %w", filepath.Join(dir, ManifestName), err)
	}
	return m, nil
}

// csvSplitter writes rows into users-NNN.csv files, starting a new one
// before a file would pass 500,000 rows or 100 MB.
type csvSplitter struct {
	dir       string
	target    Target
	csv, lmap *statedir.File
	cw, mw    *bufio.Writer
	rows      int
	bytes     int64
	files     []string
	maps      []string
	counts    []int
	maxRows   int
	maxBytes  int64
}

func (s *csvSplitter) write(line string, u User, username string) error {
	maxRows, maxBytes := s.maxRows, s.maxBytes
	if maxRows == 0 {
		maxRows = MaxFileRows
	}
	if maxBytes == 0 {
		maxBytes = MaxFileBytes
	}
	if s.csv == nil || s.rows >= maxRows || s.bytes+int64(len(line))+1 > maxBytes {
		if err := s.next(); err != nil {
			return err
		}
	}
	s.rows++
	n, err := fmt.Fprintf(s.cw, "\n%s", line)
	s.bytes += int64(n)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(s.mw, "%d,%s,%s,%s\n", s.rows, u.Sub, EscapeValue(u.Username), EscapeValue(username))
	return err
}

func (s *csvSplitter) next() error {
	if err := s.close(); err != nil {
		return err
	}
	n := len(s.files) + 1
	name := filepath.Join(s.dir, fmt.Sprintf("users-%03d.csv", n))
	mapName := filepath.Join(s.dir, fmt.Sprintf("users-%03d.linemap.csv", n))
	var err error
	if s.csv, err = statedir.Create(name); err != nil {
		return err
	}
	if s.lmap, err = statedir.Create(mapName); err != nil {
		return err
	}
	s.files, s.maps = append(s.files, name), append(s.maps, mapName)
	s.cw, s.mw = bufio.NewWriterSize(s.csv, 1<<20), bufio.NewWriter(s.lmap)
	s.rows = 0
	hdr := s.target.HeaderLine()
	s.bytes = int64(len(hdr))
	if _, err := s.cw.WriteString(hdr); err != nil {
		return err
	}
	_, err = s.mw.WriteString("line,oldSub,oldUsername,newUsername\n")
	return err
}

// close commits the current pair of files.
func (s *csvSplitter) close() error {
	if s.csv == nil {
		return nil
	}
	s.counts = append(s.counts, s.rows)
	err := errors.Join(s.cw.WriteByte('\n'), s.cw.Flush(), s.mw.Flush())
	if err != nil {
		s.abort()
		return err
	}
	if err := s.csv.Commit(); err != nil {
		s.lmap.Abort()
		return err
	}
	err = s.lmap.Commit()
	s.csv, s.lmap = nil, nil
	return err
}

func (s *csvSplitter) abort() {
	if s.csv != nil {
		s.csv.Abort()
		s.lmap.Abort()
		s.csv, s.lmap = nil, nil
	}
	for _, f := range append(s.files, s.maps...) {
		os.Remove(f)
	}
}

// SplitLimits cap each CSV file; zero means Cognito's limits (500,000 rows,
// 100 MB).
type SplitLimits struct {
	Rows  int
	Bytes int64
}

// SkippableCodes are the blocking codes `export --skip` may reject users for.
var SkippableCodes = []string{CodeInvalidPhone, CodeInvalidValue, CodeUsernameIsEmail, CodeUsernameIsPhone, CodeInvalidUsername, CodeMissingRequired, CodeRowTooLong, CodeMissingContact, CodeUnverifiedContact}

// SortedKeys returns a map's keys in order.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

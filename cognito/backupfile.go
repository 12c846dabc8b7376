package cognito

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/poolmigrate/poolmigrate/linefile"
)

// BackupFormat is the version of the backup file layout.
const BackupFormat = 1

// A backup file is JSON Lines: a header, the groups, the memberships, the
// users in ascending sub order, and a footer holding the counts and the
// SHA-256 of every byte before the footer line. It can be read as a stream,
// so neither writing nor reading it needs the whole pool in memory.
type backupLine struct {
	Kind   string        `json:"kind"`
	Header *BackupHeader `json:"header,omitempty"`
	User   *User         `json:"user,omitempty"`
	Group  *Group        `json:"group,omitempty"`
	Member *Membership   `json:"member,omitempty"`
	Footer *BackupFooter `json:"footer,omitempty"`
}

// BackupHeader opens a backup.
type BackupHeader struct {
	Format    int       `json:"format"`
	Tool      string    `json:"tool"`
	PoolID    string    `json:"userPoolId"`
	Region    string    `json:"region,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	Pool      Pool      `json:"pool"`
	Shards    []string  `json:"shards"`
}

// User is one user of the pool, attributes by name.
type User struct {
	Username   string            `json:"username"`
	Sub        string            `json:"sub"`
	Attributes map[string]string `json:"attributes"`
	Status     string            `json:"status"`
	Enabled    bool              `json:"enabled"`
	Created    time.Time         `json:"created"`
	Modified   time.Time         `json:"modified"`
	MFAOptions []MFAOption       `json:"mfaOptions,omitempty"`
}

// MFAOption is a user's legacy SMS MFA setting as ListUsers returns it.
type MFAOption struct {
	DeliveryMedium string `json:"deliveryMedium"`
	AttributeName  string `json:"attributeName"`
}

// Group is a user pool group.
type Group struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Precedence  *int32 `json:"precedence,omitempty"`
	RoleArn     string `json:"roleArn,omitempty"`
}

// Membership puts a user in a group.
type Membership struct {
	Group    string `json:"group"`
	Username string `json:"username"`
	Sub      string `json:"sub"`
}

// BackupFooter closes a backup and proves it whole.
type BackupFooter struct {
	Users          int64     `json:"users"`
	Groups         int64     `json:"groups"`
	Memberships    int64     `json:"memberships"`
	EstimatedUsers int32     `json:"estimatedUsers"`
	CompletedAt    time.Time `json:"completedAt"`
	// SHA256 is the checksum of every line before the footer and, from
	// footer format 2 on, of the footer's own fields (footerDigestLine).
	SHA256 string `json:"sha256"`
	// Format is the footer's version: 2, or 0 in a backup written before
	// the checksum covered the footer (still read).
	Format int `json:"format,omitempty"`
}

// BackupFooterFormat is the version of the footer poolmigrate writes.
const BackupFooterFormat = 2

// backupWriter writes backup lines and hashes them.
type backupWriter struct {
	w      *bufio.Writer
	h      hash.Hash
	footer BackupFooter
}

func newBackupWriter(w io.Writer) *backupWriter {
	h := sha256.New()
	return &backupWriter{w: bufio.NewWriterSize(io.MultiWriter(w, h), 1<<20), h: h}
}

func (b *backupWriter) line(l backupLine) error {
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	_, err = b.w.Write(data)
	return err
}

// raw copies an already encoded line (from a shard file).
func (b *backupWriter) raw(line []byte) error {
	_, err := b.w.Write(line)
	return err
}

func (b *backupWriter) finish(estimated int32, now time.Time) (BackupFooter, error) {
	if err := b.w.Flush(); err != nil {
		return BackupFooter{}, err
	}
	f := b.footer
	f.EstimatedUsers = estimated
	f.CompletedAt = now
	f.Format = BackupFooterFormat
	b.h.Write(footerDigestLine(f))
	f.SHA256 = hex.EncodeToString(b.h.Sum(nil))
	data, err := json.Marshal(backupLine{Kind: "footer", Footer: &f})
	if err != nil {
		return BackupFooter{}, err
	}
	if _, err := b.w.Write(append(data, '\n')); err != nil {
		return BackupFooter{}, err
	}
	return f, b.w.Flush()
}

// BackupVisitor receives a backup's records in file order. Nil fields are
// skipped.
type BackupVisitor struct {
	Header func(BackupHeader) error
	User   func(User) error
	Group  func(Group) error
	Member func(Membership) error
}

// ErrBackupDamaged is returned when a backup is incomplete, altered or
// inconsistent.
var ErrBackupDamaged = errors.New("backup damaged")

// ReadBackup streams a backup to v and proves it whole: the checksum and the
// counts in the footer must match what was read, users must come in strictly
// ascending sub order (so no user is there twice), and every membership must
// name a user of the backup. Every line is decoded the one way DecodeJSON
// does (a line with a key twice, or in two cases, is refused) and is at
// most linefile.MaxLine long.
func ReadBackup(r io.Reader, v BackupVisitor) (BackupHeader, BackupFooter, error) {
	return readBackup(r, "", v)
}

// readBackup is ReadBackup of the file name (for the messages).
func readBackup(r io.Reader, name string, v BackupVisitor) (BackupHeader, BackupFooter, error) {
	var (
		hdr     BackupHeader
		counted BackupFooter
		footer  *BackupFooter
		lastSub string
		h       = sha256.New()
		members = map[string]bool{} // usernames named by memberships
		section = "header"
		where   = "the backup"
	)
	if name != "" {
		where = name
	}
	lr := linefile.NewReader(r, 0)
	// damaged refuses the line read last, saying what to do.
	damaged := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if !strings.Contains(msg, "`poolmigrate") {
			msg += "; " + damagedHint
		}
		return fmt.Errorf("%w: %s line %d: %s", ErrBackupDamaged, where, lr.Line(), msg)
	}
	users := map[string]bool{}
	for {
		line, err := lr.Next()
		var tl *linefile.TooLongError
		switch {
		case err == io.EOF:
		case errors.Is(err, linefile.ErrTornLine):
			if footer != nil {
				return hdr, counted, damaged("data after the footer")
			}
			return hdr, counted, damaged("the file ends in the middle of a line (was the backup interrupted? run `poolmigrate backup --resume`)")
		case errors.As(err, &tl):
			return hdr, counted, damaged("%v", err)
		case err != nil:
			return hdr, counted, fmt.Errorf("read backup %s line %d: %w", where, lr.Line()+1, err)
		}
		if err == io.EOF {
			break
		}
		if footer != nil {
			return hdr, counted, damaged("data after the footer")
		}
		var l backupLine
		if jerr := linefile.DecodeJSON(line, &l); jerr != nil {
			return hdr, counted, damaged("not a backup record: %v", jerr)
		}
		if l.Kind != "footer" {
			h.Write(line)
		}
		if verr := visitLine(l, &hdr, &counted, &footer, &lastSub, &section, v, members, users, damaged); verr != nil {
			return hdr, counted, verr
		}
	}
	whole := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBackupDamaged, where, fmt.Sprintf(format, args...))
	}
	if section == "header" {
		return hdr, counted, whole("the file is empty or has no header; pass a backup file `poolmigrate backup` wrote")
	}
	if footer == nil {
		return hdr, counted, whole("no footer: the backup was not finished (run `poolmigrate backup --resume`)")
	}
	switch footer.Format {
	case 0: // before footer format 2 the checksum did not cover the footer
	case BackupFooterFormat:
		h.Write(footerDigestLine(*footer))
	default:
		return hdr, counted, whole("footer format %d is newer than this poolmigrate reads: update poolmigrate", footer.Format)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != footer.SHA256 {
		return hdr, counted, whole("checksum %s does not match the footer's %s: the file was altered or truncated; %s", sum, footer.SHA256, damagedHint)
	}
	if counted.Users != footer.Users || counted.Groups != footer.Groups || counted.Memberships != footer.Memberships {
		return hdr, counted, whole("read %d users, %d groups, %d memberships; the footer says %d, %d, %d; %s", counted.Users, counted.Groups, counted.Memberships, footer.Users, footer.Groups, footer.Memberships, damagedHint)
	}
	for u := range members {
		if !users[u] {
			return hdr, counted, whole("a membership names user %s, who is not among the backup's users (created during the backup? run it again)", u)
		}
	}
	return hdr, *footer, nil
}

// damagedHint says what to do with a damaged backup.
const damagedHint = "use an undamaged copy of the backup, or take a new one (`poolmigrate backup`)"

// footerDigestLine is what the checksum of a format 2 footer covers after
// the lines before it: the footer line as written, with its sha256 empty.
func footerDigestLine(f BackupFooter) []byte {
	f.SHA256 = ""
	data, _ := json.Marshal(backupLine{Kind: "footer", Footer: &f}) // cannot fail: plain fields
	return append(data, '\n')
}

// lineOrder is the order of a backup's records.
var lineOrder = map[string]int{"header": 0, "group": 1, "member": 2, "user": 3, "footer": 4}

// visitLine checks one record's place in the file and hands it on.
// Memberships come before users, so a user is remembered only when a
// membership names it: memory grows with memberships, not with the pool.
func visitLine(l backupLine, hdr *BackupHeader, counted *BackupFooter, footer **BackupFooter, lastSub, section *string,
	v BackupVisitor, members, users map[string]bool, damaged func(string, ...any) error) error {
	want, ok := lineOrder[l.Kind]
	if !ok {
		return damaged("unknown record kind %q", l.Kind)
	}
	if hdr.Format == 0 && l.Kind != "header" {
		return damaged("the file does not start with a backup header")
	}
	if want < lineOrder[*section] || (l.Kind == "header" && hdr.Format != 0) {
		return damaged("record %q out of place", l.Kind)
	}
	*section = l.Kind
	switch l.Kind {
	case "header":
		if l.Header == nil || l.Header.Format != BackupFormat {
			return damaged("unsupported backup format")
		}
		*hdr = *l.Header
		if v.Header != nil {
			return v.Header(*hdr)
		}
	case "user":
		if l.User == nil || l.User.Sub == "" {
			return damaged("a user without sub")
		}
		if l.User.Sub <= *lastSub {
			return damaged("user %s (sub %s) is out of order or there twice", l.User.Username, l.User.Sub)
		}
		*lastSub = l.User.Sub
		counted.Users++
		if members[l.User.Username] {
			users[l.User.Username] = true
		}
		if v.User != nil {
			return v.User(*l.User)
		}
	case "group":
		if l.Group == nil {
			return damaged("empty group record")
		}
		counted.Groups++
		if v.Group != nil {
			return v.Group(*l.Group)
		}
	case "member":
		if l.Member == nil {
			return damaged("empty membership record")
		}
		counted.Memberships++
		members[l.Member.Username] = true
		if v.Member != nil {
			return v.Member(*l.Member)
		}
	case "footer":
		if l.Footer == nil {
			return damaged("empty footer")
		}
		*footer = l.Footer
	}
	return nil
}

// ReadBackupFile streams a backup file to v and proves it whole (see
// ReadBackup).
func ReadBackupFile(path string, v BackupVisitor) (BackupHeader, BackupFooter, error) {
	f, err := linefile.Open(path, "backup")
	if err != nil {
		if errors.Is(err, linefile.ErrNotRegular) {
			return BackupHeader{}, BackupFooter{}, err
		}
		return BackupHeader{}, BackupFooter{}, fmt.Errorf("open backup: %w", err)
	}
	defer f.Close()
	return readBackup(f, path, v)
}

// VerifyBackupFile reads a whole backup file and proves it whole.
func VerifyBackupFile(path string) (BackupHeader, BackupFooter, error) {
	return ReadBackupFile(path, BackupVisitor{})
}

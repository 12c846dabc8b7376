package cognito

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

// writeBackup writes a backup file the way Backup does, for tests that need
// users no emulator can make (federated ones, say).
func writeBackup(t *testing.T, dir string, users []User, groups []Group, members []Membership) string {
	t.Helper()
	sort.Slice(users, func(i, j int) bool { return users[i].Sub < users[j].Sub })
	path := filepath.Join(dir, "backup.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := newBackupWriter(f)
	hdr := BackupHeader{Format: BackupFormat, Tool: "test", PoolID: "us-east-1_Old", Pool: Pool{ID: "us-east-1_Old"}}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(bw.line(backupLine{Kind: "header", Header: &hdr}))
	for i := range groups {
		must(bw.line(backupLine{Kind: "group", Group: &groups[i]}))
		bw.footer.Groups++
	}
	for i := range members {
		must(bw.line(backupLine{Kind: "member", Member: &members[i]}))
		bw.footer.Memberships++
	}
	for i := range users {
		must(bw.line(backupLine{Kind: "user", User: &users[i]}))
		bw.footer.Users++
	}
	_, err = bw.finish(int32(len(users)), time.Unix(0, 0))
	must(err)
	return path
}

var modified = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func user(sub, username string, attrs ...string) User {
	u := User{Sub: sub, Username: username, Status: "CONFIRMED", Enabled: true, Attributes: map[string]string{"sub": sub}, Modified: modified, Created: modified}
	for i := 0; i+1 < len(attrs); i += 2 {
		u.Attributes[attrs[i]] = attrs[i+1]
	}
	return u
}

// emailTarget signs in by email, auto-verifies email and folds case.
func emailTarget() Target {
	f := false
	return Target{
		Pool: Pool{ID: "us-east-1_New", UsernameAttributes: []string{"email"}, AutoVerifiedAttributes: []string{"email"}, MFA: "OFF", CaseSensitive: &f,
			Attributes: []Attribute{{Name: "email", Required: true}, {Name: PrevSubAttr}, {Name: PrevUsernameAttr}}},
		Header: []string{"name", "email", "email_verified", "phone_number", "phone_number_verified", "updated_at", PrevSubAttr, PrevUsernameAttr, "cognito:mfa_enabled", "cognito:username"},
	}
}

// standardColumns are Cognito's standard attributes in GetCSVHeader's
// order.
var standardColumns = []string{
	"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "profile",
	"picture", "website", "email", "email_verified", "gender", "birthdate", "zoneinfo", "locale",
	"phone_number", "phone_number_verified", "address", "updated_at",
}

// everyAttributeUsers hold a distinct value in every standard attribute,
// no two alike within a user or across them.
func everyAttributeUsers() []User {
	var out []User
	for i, who := range []string{"eve", "finn"} {
		n := fmt.Sprint(i + 1)
		out = append(out, user("00e"+n, who,
			"name", "Name "+who, "given_name", "Given "+who, "family_name", "Family "+who,
			"middle_name", "Middle "+who, "nickname", "Nick "+who, "preferred_username", "pref_"+who,
			"profile", "https://profile.example.com/"+who, "picture", "https://picture.example.com/"+who+".png",
			"website", "https://"+who+".example.org", "email", who+"@example.com", "email_verified", "true",
			"gender", []string{"female", "male"}[i], "birthdate", "199"+n+"-0"+n+"-1"+n, "zoneinfo", []string{"Europe/Paris", "America/Denver"}[i],
			"locale", []string{"fr-FR", "en-US"}[i], "phone_number", "+1415555010"+n, "phone_number_verified", "true",
			"address", n+" Main St, Springfield", "updated_at", "170000000"+n))
	}
	return out
}

func TestCSVRowsGolden(t *testing.T) {
	tg := emailTarget()
	users := []User{
		user("0001", "ann", "email", "ann@example.com", "email_verified", "true", "name", "Smith, Ann, Jr."),
		user("0002", "bjørn", "email", "BJORN@example.com", "email_verified", "TRUE", "name", "Bjørn Ærø 李"),
		user("0003", "carl", "email", "carl@example.com", "email_verified", "false", "phone_number", "+4915112345678", "phone_number_verified", "true", "updated_at", "1700000000123"),
		user("0004", "dee", "email", "dee@example.com", "email_verified", "true", "updated_at", "1700000000"),
	}
	users[1].MFAOptions = []MFAOption{{DeliveryMedium: "SMS", AttributeName: "phone_number"}}
	var b strings.Builder
	b.WriteString(tg.HeaderLine() + "\n")
	for _, u := range users {
		b.WriteString(tg.Line(tg.BuildRow(u, tg.NewUsername(u, UsernameAuto), false)) + "\n")
	}
	opt := tg
	opt.Pool.MFA = "OPTIONAL"
	b.WriteString("# MFA optional, username from the old username, mark-verified:\n")
	b.WriteString(opt.Line(opt.BuildRow(users[1], opt.NewUsername(users[1], UsernameUsername), true)) + "\n")
	b.WriteString(opt.Line(opt.BuildRow(users[2], opt.NewUsername(users[2], UsernameUsername), true)) + "\n")
	// A target whose header holds every standard attribute (GetCSVHeader's
	// order), and users with a distinct value in each: a value written
	// under another attribute's column changes the file.
	full := emailTarget()
	full.Header = append(append([]string(nil), standardColumns...), PrevSubAttr, PrevUsernameAttr, "cognito:mfa_enabled", "cognito:username")
	b.WriteString("# every standard attribute:\n" + full.HeaderLine() + "\n")
	for _, u := range everyAttributeUsers() {
		b.WriteString(full.Line(full.BuildRow(u, full.NewUsername(u, UsernameAuto), false)) + "\n")
	}
	testenv.Golden(t, "testdata/rows.golden.csv", b.String(), *update)
	if strings.Contains(b.String(), `"`) {
		t.Error("a value is quoted")
	}
	if strings.HasPrefix(b.String(), "\ufeff") {
		t.Error("a byte order mark")
	}
}

func TestAnalyzeAndExport(t *testing.T) {
	dir := t.TempDir()
	older, newer := user("0101", "dup.old", "email", "Same@Example.com", "email_verified", "true"), user("0102", "dup.new", "email", "same@example.com", "email_verified", "true")
	newer.Modified = modified.Add(time.Hour)
	fed := user("0103", "Google_1234", "email", "g@example.com", "email_verified", "true")
	fed.Status = "EXTERNAL_PROVIDER"
	users := []User{
		user("0001", "ok1", "email", "ok1@example.com", "email_verified", "true", "custom:tenant", "t1"),
		user("0002", "ok2", "email", "ok2@example.com", "email_verified", "true"),
		user("0003", "ok3", "email", "ok3@example.com", "email_verified", "true"),
		user("0004", "ok4", "email", "ok4@example.com", "email_verified", "true"),
		older, newer, fed,
		user("0201", "unverified", "email", "u@example.com", "email_verified", "false"),
		user("0202", "nocontact", "name", "Nobody"),
		user("0203", "badphone", "email", "bp@example.com", "email_verified", "true", "phone_number", "0151 1234"),
		user("0204", "newline", "email", "nl@example.com", "email_verified", "true", "name", "two\nlines"),
	}
	path := writeBackup(t, dir, users, nil, nil)
	tg := emailTarget()

	an, err := Analyze(path, tg, Policies{})
	if err != nil {
		t.Fatal(err)
	}
	rep := an.Report()
	got := map[string]string{}
	for _, p := range rep.Problems {
		key := p.Code
		if p.Attribute != "" {
			key += ":" + p.Attribute
		}
		got[key] = strings.Join(p.Users, ",")
	}
	want := map[string]string{
		CodeDuplicateEmail:                      "dup.new,dup.old",
		CodeFederatedUser:                       "Google_1234",
		CodeUnverifiedContact:                   "unverified",
		CodeMissingContact:                      "nocontact",
		CodeInvalidUsername:                     "nocontact",
		CodeMissingRequired:                     "nocontact",
		CodeInvalidPhone:                        "badphone",
		CodeInvalidValue:                        "newline",
		CodeDroppedAttribute + ":custom:tenant": "ok1",
	}
	if len(got) != len(want) {
		t.Errorf("problems:\n got %v\nwant %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	if !rep.Blocking {
		t.Error("report must block")
	}

	// The default refuses, names each open problem and its flag, and
	// writes nothing.
	out := filepath.Join(dir, "refused")
	_, err = an.Export(path, out)
	var ue *UnresolvedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--on-duplicate keep-newest|keep-oldest") || !strings.Contains(err.Error(), "--on-unverified") {
		t.Fatalf("export without policies: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a refused export created its folder")
	}

	pol := Policies{OnDuplicate: "keep-newest", OnUnverified: "skip", Skip: map[string]bool{CodeInvalidPhone: true, CodeInvalidValue: true, CodeInvalidUsername: true, CodeMissingRequired: true}}
	an, err = Analyze(path, tg, pol)
	if err != nil {
		t.Fatal(err)
	}
	an.Split = SplitLimits{Rows: 2}
	out = filepath.Join(dir, "out")
	res, err := an.Export(path, out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Users != 11 || res.Exported != 5 || res.Rejected != 6 || len(res.Files) != 3 {
		t.Errorf("result: %+v", res)
	}
	rejected := map[string]string{}
	for _, l := range readLines(t, res.Rejects) {
		var r struct {
			Username string
			Codes    []string
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		rejected[r.Username] = strings.Join(r.Codes, ",")
	}
	wantRejected := map[string]string{"dup.old": CodeDuplicateEmail, "Google_1234": CodeFederatedUser, "unverified": CodeUnverifiedContact,
		"nocontact": "INVALID_USERNAME,MISSING_CONTACT,MISSING_REQUIRED", "badphone": CodeInvalidPhone, "newline": CodeInvalidValue}
	for k, v := range wantRejected {
		if rejected[k] != v {
			t.Errorf("rejects: %s has %q, want %q", k, rejected[k], v)
		}
	}
	exported := map[string]bool{}
	for i, f := range res.Files {
		lines := readLines(t, f)
		if lines[0] != tg.HeaderLine() || len(lines) > 3 {
			t.Errorf("%s: %d lines, header %q", f, len(lines), lines[0])
		}
		maps := readLines(t, res.LineMaps[i])
		if len(maps) != len(lines) {
			t.Errorf("line map %s has %d lines for %d", res.LineMaps[i], len(maps), len(lines))
		}
		for n, m := range maps[1:] {
			parts := strings.Split(m, ",")
			if parts[0] != strconv.Itoa(n+1) || !strings.Contains(lines[n+1], parts[1]) {
				t.Errorf("line map %s line %d: %q does not match %q", f, n+1, m, lines[n+1])
			}
			exported[parts[2]] = true
		}
		if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", f, fi.Mode().Perm())
		}
	}
	for _, u := range []string{"ok1", "ok2", "ok3", "ok4", "dup.new"} {
		if !exported[u] {
			t.Errorf("%s not exported (%v)", u, exported)
		}
	}
	if _, err := an.Export(path, out); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("export into a used folder: %v", err)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// TestPoliciesDecideTheWholeUser: a user left out for one reason is left
// out whatever else is wrong with it. A user with no e-mail in an e-mail
// sign-in pool also lacks the username and the required attribute; the
// --on-unverified policy decides it without --skip for those, and
// mark-verified, which has nothing to mark, leaves it out and says why.
func TestPoliciesDecideTheWholeUser(t *testing.T) {
	dir := t.TempDir()
	users := []User{
		user("0001", "ok", "email", "ok@example.com", "email_verified", "true"),
		user("0002", "unverified", "email", "u@example.com", "email_verified", "false"),
		user("0003", "nocontact", "name", "Nobody"),
	}
	path := writeBackup(t, dir, users, nil, nil)
	cases := map[string]struct {
		policy                     string
		exported                   int64
		nocontact, unverifiedCodes string
	}{
		"skip":          {"skip", 1, "MISSING_CONTACT,INVALID_USERNAME,MISSING_REQUIRED", CodeUnverifiedContact},
		"mark-verified": {"mark-verified", 2, "MISSING_CONTACT,INVALID_USERNAME,MISSING_REQUIRED", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			an, err := Analyze(path, emailTarget(), Policies{OnDuplicate: "keep-newest", OnUnverified: c.policy})
			if err != nil {
				t.Fatal(err)
			}
			if un := an.Unresolved(); len(un) > 0 {
				t.Fatalf("unresolved: %+v", un)
			}
			res, err := an.Export(path, filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if res.Exported != c.exported || res.Exported+res.Rejected != 3 {
				t.Errorf("result: %+v", res)
			}
			got := map[string]string{}
			reason := map[string]string{}
			for _, l := range readLines(t, res.Rejects) {
				var r struct {
					Username string
					Codes    []string
					Reason   string
				}
				if err := json.Unmarshal([]byte(l), &r); err != nil {
					t.Fatal(err)
				}
				got[r.Username], reason[r.Username] = strings.Join(r.Codes, ","), r.Reason
			}
			if got["nocontact"] != c.nocontact || !strings.Contains(reason["nocontact"], "none of the contacts") {
				t.Errorf("nocontact: codes %q reason %q, want %q", got["nocontact"], reason["nocontact"], c.nocontact)
			}
			if got["unverified"] != c.unverifiedCodes {
				t.Errorf("unverified: %q, want %q", got["unverified"], c.unverifiedCodes)
			}
		})
	}
	// Without a policy for contacts, the other problems of the same user
	// are still reported: nothing decides them.
	an, err := Analyze(path, emailTarget(), Policies{OnDuplicate: "keep-newest"})
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, p := range an.Unresolved() {
		codes[p.Code] = strings.Join(p.Users, ",")
	}
	if codes[CodeMissingContact] != "nocontact" || codes[CodeInvalidUsername] != "nocontact" || codes[CodeUnverifiedContact] != "unverified" {
		t.Errorf("unresolved without a contact policy: %v", codes)
	}
}

// TestRefusalNamesPoolProblemsWithoutUserCounts: a problem of the target
// pool is not "0 user(s)".
func TestRefusalNamesPoolProblemsWithoutUserCounts(t *testing.T) {
	dir := t.TempDir()
	path := writeBackup(t, dir, []User{user("0001", "ok", "email", "ok@example.com", "email_verified", "true")}, nil, nil)
	tg := emailTarget()
	tg.Pool.Attributes = tg.Pool.Attributes[:1] // no custom:prev_* attributes
	tg.Header = []string{"name", "email", "email_verified", "updated_at", "cognito:mfa_enabled", "cognito:username"}
	an, err := Analyze(path, tg, Policies{OnDuplicate: "keep-newest", OnUnverified: "skip"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = an.Export(path, filepath.Join(dir, "out"))
	if err == nil || !strings.Contains(err.Error(), CodePrevAttributesMissing+": custom:prev_sub_id") || strings.Contains(err.Error(), "0 user(s)") || !strings.Contains(err.Error(), "check --fix") {
		t.Errorf("refusal: %v", err)
	}
}

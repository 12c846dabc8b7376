package cognito

import (
	"hash/fnv"
	"sort"
	"strings"
)

// Problem codes of `check` and `export`. They are stable: scripts and the
// export policies name them.
const (
	CodeDuplicateEmail        = "DUPLICATE_EMAIL"
	CodeDuplicatePhone        = "DUPLICATE_PHONE"
	CodeDuplicateUsername     = "DUPLICATE_USERNAME"
	CodeUnverifiedContact     = "UNVERIFIED_CONTACT"
	CodeMissingContact        = "MISSING_CONTACT"
	CodeFederatedUser         = "FEDERATED_USER"
	CodeUnconfirmedUser       = "UNCONFIRMED_USER"
	CodeInvalidPhone          = "INVALID_PHONE"
	CodeInvalidValue          = "INVALID_VALUE"
	CodeUsernameIsEmail       = "USERNAME_IS_EMAIL"
	CodeUsernameIsPhone       = "USERNAME_IS_PHONE"
	CodeInvalidUsername       = "INVALID_USERNAME"
	CodeMissingRequired       = "MISSING_REQUIRED"
	CodeDroppedAttribute      = "DROPPED_ATTRIBUTE"
	CodeMFARequired           = "MFA_REQUIRED"
	CodeMFADropped            = "MFA_DROPPED"
	CodeRowTooLong            = "ROW_TOO_LONG"
	CodePrevAttributesMissing = "PREV_ATTRIBUTES_MISSING"
	CodeNoAutoVerified        = "NO_AUTO_VERIFIED"
)

// codeInfo says what a code means, whether it blocks the import, and what
// decides it.
var codeInfo = map[string]struct {
	blocking bool
	message  string
	fix      string
}{
	CodeDuplicateEmail:        {true, "users share an email, which the target signs in with or aliases; the import keeps only one", "export --on-duplicate keep-newest|keep-oldest"},
	CodeDuplicatePhone:        {true, "users share a phone number, which the target signs in with or aliases; the import keeps only one", "export --on-duplicate keep-newest|keep-oldest"},
	CodeDuplicateUsername:     {true, "usernames differ only in case and the target is case-insensitive", "export --on-duplicate keep-newest|keep-oldest"},
	CodeUnverifiedContact:     {true, "the user has no verified contact among the target's auto-verified attributes; the import rejects the row, and the user could not reset the password", "export --on-unverified skip|mark-verified"},
	CodeMissingContact:        {true, "the user has none of the contacts the target auto-verifies (email/phone); the import rejects the row", "export --on-unverified skip (mark-verified cannot help)"},
	CodeFederatedUser:         {false, "federated users (EXTERNAL_PROVIDER) are not in the CSV: import creates each in the new pool and links its provider identity, so its first sign-in through the provider lands on it (see the providers section: the new pool needs each provider under the same name)", "nothing to decide: export lists them in the rejects file, import brings them over"},
	CodeUnconfirmedUser:       {false, "unconfirmed users are imported like every other (status RESET_REQUIRED) when their contact passes the verification rule", "nothing to decide"},
	CodeInvalidPhone:          {true, "phone_number is not in E.164 form (+ and digits only); the import rejects the row", "fix the number in the old pool, or export --skip INVALID_PHONE"},
	CodeInvalidValue:          {true, "a value holds a line break, starts with a quotation mark or is not a valid email; the import cannot read it", "fix it in the old pool, or export --skip INVALID_VALUE"},
	CodeUsernameIsEmail:       {true, "the username has the form of an email, which a pool with email as an alias refuses", "export --username-from sub (every user's old sub becomes the username; they sign in with the email alias) or --skip USERNAME_IS_EMAIL"},
	CodeUsernameIsPhone:       {true, "the username has the form of a phone number, which a pool with phone_number as an alias refuses", "export --skip USERNAME_IS_PHONE"},
	CodeInvalidUsername:       {true, "the new cognito:username would be empty, hold spaces, or not be the email/phone the target signs in with", "export --username-from, or --skip INVALID_USERNAME"},
	CodeMissingRequired:       {true, "an attribute the target requires is empty", "export --skip MISSING_REQUIRED, or make the attribute optional in the new pool"},
	CodeDroppedAttribute:      {false, "the attribute does not exist in the target, so its values would be dropped", "add it to the new pool (custom attributes: AddCustomAttributes, or amplify update auth) before export to keep it"},
	CodeMFARequired:           {false, "the target requires MFA: every user must set it up at the first sign-in (users without a phone number need an authenticator app)", "nothing to decide"},
	CodeMFADropped:            {false, "the user had SMS MFA on, and the target has MFA off", "nothing to decide; turn MFA on in the new pool to keep it"},
	CodeRowTooLong:            {true, "the user's CSV row is longer than 16,000 characters", "export --skip ROW_TOO_LONG"},
	CodePrevAttributesMissing: {true, "the target lacks custom:prev_sub_id / custom:prev_username, which carry each user's old identity for the owner-field remap", "check --fix adds them (custom attributes cannot be removed afterwards)"},
	CodeNoAutoVerified:        {true, "the target auto-verifies neither email nor phone_number, so a CSV import job will not start", "configure email or phone verification on the new pool"},
}

// Problem is one kind of problem and the users who have it.
type Problem struct {
	Code      string   `json:"code"`
	Blocking  bool     `json:"blocking"`
	Count     int      `json:"count"`
	Users     []string `json:"users"`
	Attribute string   `json:"attribute,omitempty"`
	Message   string   `json:"message"`
	Fix       string   `json:"fix"`
}

// Report is what `check` prints.
type Report struct {
	Blocking   bool      `json:"blocking"`
	TargetPool string    `json:"targetPool"`
	SourcePool string    `json:"sourcePool"`
	Users      int64     `json:"users"`
	Problems   []Problem `json:"problems"`
}

// Policies decide, for export, what happens to users with problems.
type Policies struct {
	UsernameFrom UsernameFrom
	OnDuplicate  string // "fail" (default), "keep-newest", "keep-oldest"
	OnUnverified string // "fail" (default), "skip", "mark-verified"
	Skip         map[string]bool
}

func (p Policies) markVerified() bool { return p.OnUnverified == "mark-verified" }

// evaluate lists the problems one user has on its own (duplicates need the
// whole pool and are found by analyze).
func (t Target) evaluate(u User, username string, markVerified bool) (codes []string, dropped []string) {
	if u.Status == "EXTERNAL_PROVIDER" {
		return []string{CodeFederatedUser}, nil
	}
	add := func(c string) { codes = append(codes, c) }
	if u.Status == "UNCONFIRMED" {
		add(CodeUnconfirmedUser)
	}
	if auto := t.Pool.AutoVerifiedAttributes; len(auto) > 0 {
		has, verified := false, false
		for _, a := range auto {
			if u.Attributes[a] != "" {
				has = true
				if markVerified || strings.EqualFold(u.Attributes[a+"_verified"], "true") {
					verified = true
				}
			}
		}
		// With one auto-verified attribute the import needs exactly that
		// one verified; with both, either.
		switch {
		case !has:
			add(CodeMissingContact)
		case !verified:
			add(CodeUnverifiedContact)
		}
	}
	if ph := u.Attributes["phone_number"]; ph != "" && !e164RE.MatchString(ph) {
		add(CodeInvalidPhone)
	}
	if em := u.Attributes["email"]; em != "" && !emailRE.MatchString(em) {
		add(CodeInvalidValue)
	}
	switch {
	case username == "" || strings.ContainsAny(username, " \t\r\n"):
		add(CodeInvalidUsername)
	case t.signsInBy("email") && !t.signsInBy("phone_number") && !strings.EqualFold(username, u.Attributes["email"]):
		add(CodeInvalidUsername)
	case t.signsInBy("phone_number") && !t.signsInBy("email") && username != u.Attributes["phone_number"]:
		add(CodeInvalidUsername)
	case t.aliases("email") && emailRE.MatchString(username):
		add(CodeUsernameIsEmail)
	case t.aliases("phone_number") && e164RE.MatchString(username):
		add(CodeUsernameIsPhone)
	}
	row := t.BuildRow(u, username, markVerified)
	for _, a := range t.Pool.Attributes {
		if a.Required && a.Name != "sub" && t.HasColumn(a.Name) && row[a.Name] == "" {
			add(CodeMissingRequired)
			break
		}
	}
	for _, v := range row {
		if strings.ContainsAny(v, "\r\n") || strings.HasPrefix(strings.TrimSpace(v), `"`) {
			add(CodeInvalidValue)
			break
		}
	}
	if rowChars(t.Line(row)) > MaxRowChars {
		add(CodeRowTooLong)
	}
	switch {
	case t.Pool.MFA == "ON":
		add(CodeMFARequired)
	case t.Pool.MFA == "OFF" && len(u.MFAOptions) > 0:
		add(CodeMFADropped)
	}
	for name, v := range u.Attributes {
		if v == "" || name == "sub" || name == "identities" || strings.HasPrefix(name, "cognito:") || t.HasColumn(name) {
			continue
		}
		dropped = append(dropped, name)
	}
	return dedupe(codes), dropped
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// dupKeys returns the values that must be unique in the target, by code.
func (t Target) dupKeys(u User, username string) map[string]string {
	fold := func(s string) string {
		if t.caseInsensitive() {
			return strings.ToLower(s)
		}
		return s
	}
	keys := map[string]string{}
	email, phone := u.Attributes["email"], u.Attributes["phone_number"]
	if email != "" && (t.signsInBy("email") || t.aliases("email")) {
		keys[CodeDuplicateEmail] = fold(email)
	}
	if phone != "" && (t.signsInBy("phone_number") || t.aliases("phone_number")) {
		keys[CodeDuplicatePhone] = phone
	}
	// When the username is the email or phone, its duplicates are reported
	// as those.
	if username != "" && username != email && username != phone {
		keys[CodeDuplicateUsername] = fold(username)
	}
	return keys
}

func keyHash(code, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(code))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return h.Sum64()
}

// dupMember is one user of a group of duplicates.
type dupMember struct {
	Username string
	Sub      string
	Modified int64
}

// Analysis is the result of reading a backup against a target: problems by
// code and the groups of duplicates. Memory grows with the number of users
// that have problems, plus eight bytes of hash per user.
type Analysis struct {
	Target     Target
	Policies   Policies
	SourcePool string
	Users      int64
	byCode     map[string][]string
	dropped    map[string][]string
	dups       map[string]map[string][]dupMember // code -> key -> members
	losers     map[string]string                 // sub -> code, once a policy chose the winners
	// open holds the users whose blocking problems no policy decides
	// (before duplicates are decided): username -> sub and codes.
	open map[string]openUser
	// Split caps the export's CSV files.
	Split SplitLimits
}

// Analyze reads the backup twice: once to count keys that must be unique,
// once to collect problems and the users behind duplicated keys.
func Analyze(backupPath string, t Target, p Policies) (*Analysis, error) {
	a := &Analysis{Target: t, Policies: p, byCode: map[string][]string{}, dropped: map[string][]string{}, dups: map[string]map[string][]dupMember{}, open: map[string]openUser{}}
	counts := map[uint64]uint8{}
	_, _, err := ReadBackupFile(backupPath, BackupVisitor{User: func(u User) error {
		if u.Status == "EXTERNAL_PROVIDER" {
			return nil
		}
		for code, key := range t.dupKeys(u, t.NewUsername(u, p.UsernameFrom)) {
			h := keyHash(code, key)
			if counts[h] < 2 {
				counts[h]++
			}
		}
		return nil
	}})
	if err != nil {
		return nil, err
	}
	hdr, footer, err := ReadBackupFile(backupPath, BackupVisitor{User: func(u User) error {
		username := t.NewUsername(u, p.UsernameFrom)
		codes, dropped := t.evaluate(u, username, p.markVerified())
		for _, c := range codes {
			a.byCode[c] = append(a.byCode[c], u.Username)
		}
		if decided, open := a.decide(codes); len(decided) == 0 && len(open) > 0 {
			a.open[u.Username] = openUser{sub: u.Sub, codes: open}
		}
		for _, d := range dropped {
			a.dropped[d] = append(a.dropped[d], u.Username)
		}
		if u.Status == "EXTERNAL_PROVIDER" {
			return nil
		}
		for code, key := range t.dupKeys(u, username) {
			if counts[keyHash(code, key)] > 1 {
				if a.dups[code] == nil {
					a.dups[code] = map[string][]dupMember{}
				}
				a.dups[code][key] = append(a.dups[code][key], dupMember{Username: u.Username, Sub: u.Sub, Modified: u.Modified.UnixNano()})
			}
		}
		return nil
	}})
	if err != nil {
		return nil, err
	}
	a.SourcePool = hdr.PoolID
	a.Users = footer.Users
	for code, groups := range a.dups {
		for key, members := range groups {
			if len(members) < 2 { // a hash collision, not a duplicate
				delete(groups, key)
				continue
			}
			for _, m := range members {
				a.byCode[code] = append(a.byCode[code], m.Username)
			}
		}
	}
	a.chooseWinners()
	return a, nil
}

type openUser struct {
	sub   string
	codes []string
}

// decide splits a user's problem codes into those a policy decides (the
// user is left out of the import for them) and the blocking ones no
// policy decides. A user left out for one reason is left out whatever
// else is wrong with it: a user with no e-mail skipped by --on-unverified
// skip needs no --skip for the username and required attribute it lacks
// too. mark-verified cannot give a contact to a user that has none, so it
// leaves such users out as well.
func (a *Analysis) decide(codes []string) (decided, open []string) {
	for _, c := range codes {
		switch {
		case c == CodeFederatedUser, a.Policies.Skip[c]:
			decided = append(decided, c)
		case c == CodeUnverifiedContact && a.Policies.OnUnverified == "skip":
			decided = append(decided, c)
		case c == CodeMissingContact && (a.Policies.OnUnverified == "skip" || a.Policies.OnUnverified == "mark-verified"):
			decided = append(decided, c)
		case codeInfo[c].blocking:
			open = append(open, c)
		}
	}
	return decided, open
}

// chooseWinners applies --on-duplicate: the newest (or oldest) by last
// modification keeps the key, the others are rejected.
func (a *Analysis) chooseWinners() {
	a.losers = map[string]string{}
	if a.Policies.OnDuplicate != "keep-newest" && a.Policies.OnDuplicate != "keep-oldest" {
		return
	}
	codes := make([]string, 0, len(a.dups))
	for c := range a.dups {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, code := range codes {
		for _, members := range a.dups[code] {
			var alive []dupMember
			for _, m := range members {
				if _, lost := a.losers[m.Sub]; !lost {
					alive = append(alive, m)
				}
			}
			sort.Slice(alive, func(i, j int) bool {
				if alive[i].Modified != alive[j].Modified {
					if a.Policies.OnDuplicate == "keep-newest" {
						return alive[i].Modified > alive[j].Modified
					}
					return alive[i].Modified < alive[j].Modified
				}
				return alive[i].Sub < alive[j].Sub
			})
			for _, m := range alive[min(1, len(alive)):] {
				a.losers[m.Sub] = code
			}
		}
	}
}

// Report lists every problem, pool-level ones first.
func (a *Analysis) Report() Report {
	r := Report{TargetPool: a.Target.Pool.ID, SourcePool: a.SourcePool, Users: a.Users, Problems: []Problem{}}
	if missing := a.Target.MissingPrevAttributes(); len(missing) > 0 {
		r.Problems = append(r.Problems, newProblem(CodePrevAttributesMissing, nil, strings.Join(missing, ", ")))
	}
	if len(a.Target.Pool.AutoVerifiedAttributes) == 0 {
		r.Problems = append(r.Problems, newProblem(CodeNoAutoVerified, nil, ""))
	}
	codes := make([]string, 0, len(a.byCode))
	for c := range a.byCode {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		r.Problems = append(r.Problems, newProblem(c, a.byCode[c], ""))
	}
	attrs := make([]string, 0, len(a.dropped))
	for n := range a.dropped {
		attrs = append(attrs, n)
	}
	sort.Strings(attrs)
	for _, n := range attrs {
		r.Problems = append(r.Problems, newProblem(CodeDroppedAttribute, a.dropped[n], n))
	}
	for _, p := range r.Problems {
		if p.Blocking {
			r.Blocking = true
		}
	}
	return r
}

func newProblem(code string, users []string, attr string) Problem {
	info := codeInfo[code]
	users = append([]string{}, users...)
	sort.Strings(users)
	users = dedupe(users)
	p := Problem{Code: code, Blocking: info.blocking, Count: len(users), Users: users, Attribute: attr, Message: info.message, Fix: info.fix}
	if attr != "" {
		p.Message = attr + ": " + p.Message
	}
	return p
}

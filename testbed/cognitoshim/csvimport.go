package cognitoshim

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CSV limits from the Cognito developer guide.
const (
	maxRowChars   = 16000
	maxRows       = 500000
	maxCustomByte = 2048
)

// importRow is one data line of an import CSV, or why it cannot be read.
type importRow struct {
	values map[string]string
	err    string
}

// parseImportCSV reads the file by the documented rules: UTF-8 without BOM,
// a header naming exactly the pool's GetCSVHeader columns (in any order),
// values unquoted with commas escaped as \, and surrounding blanks trimmed.
// A problem with the file as a whole is returned as a job failure message.
func parseImportCSV(data []byte, header []string) ([]importRow, string) {
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, "The CSV file could not be parsed: it starts with a byte order mark; save it as UTF-8 without BOM."
	}
	if !utf8.Valid(data) {
		return nil, "The CSV file could not be parsed: it is not valid UTF-8."
	}
	lines := strings.Split(strings.TrimRight(string(data), "\r\n"), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		return nil, "The CSV file could not be parsed: it has no header."
	}
	cols, err := splitEscaped(strings.TrimSuffix(lines[0], "\r"))
	if err != "" {
		return nil, "The CSV header could not be parsed: " + err
	}
	want := map[string]bool{}
	for _, h := range header {
		want[h] = true
	}
	seen := map[string]bool{}
	for i, c := range cols {
		c = strings.TrimSpace(c)
		cols[i] = c
		if !want[c] {
			return nil, fmt.Sprintf("The CSV header is not valid: column %q is not in the user pool's CSV header (GetCSVHeader).", c)
		}
		if seen[c] {
			return nil, fmt.Sprintf("The CSV header is not valid: column %q appears twice.", c)
		}
		seen[c] = true
	}
	for _, h := range header {
		if !seen[h] {
			return nil, fmt.Sprintf("The CSV header is not valid: column %q of the user pool's CSV header (GetCSVHeader) is missing.", h)
		}
	}
	if len(lines)-1 > maxRows {
		return nil, fmt.Sprintf("The CSV file has %d users; an import job takes at most %d.", len(lines)-1, maxRows)
	}
	rows := make([]importRow, 0, len(lines)-1)
	for _, line := range lines[1:] {
		line = strings.TrimSuffix(line, "\r")
		if utf8.RuneCountInString(line) > maxRowChars {
			rows = append(rows, importRow{err: fmt.Sprintf("The row is longer than %d characters.", maxRowChars)})
			continue
		}
		vals, err := splitEscaped(line)
		if err != "" {
			rows = append(rows, importRow{err: err})
			continue
		}
		if len(vals) != len(cols) {
			rows = append(rows, importRow{err: fmt.Sprintf("The data does not match the schema: the row has %d values for %d columns (escape commas in values as \\,).", len(vals), len(cols))})
			continue
		}
		r := importRow{values: map[string]string{}}
		for i, v := range vals {
			v = strings.TrimSpace(v)
			if strings.HasPrefix(v, `"`) {
				r.err = fmt.Sprintf("The data does not match the schema: the value of %s is in quotation marks; string values must not be quoted.", cols[i])
				break
			}
			r.values[cols[i]] = v
		}
		rows = append(rows, r)
	}
	return rows, ""
}

// splitEscaped splits a line on commas that are not escaped as \,.
func splitEscaped(line string) ([]string, string) {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line) && line[i+1] == ',':
			cur.WriteByte(',')
			i++
		case c == ',':
			out = append(out, cur.String())
			cur.Reset()
		case c == '\n':
			return nil, "The row contains a line break."
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String()), ""
}

var (
	e164RE  = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	dateRE  = regexp.MustCompile(`^(\d{2}/\d{2}/\d{4}|\d{4}-\d{2}-\d{2})$`)
)

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true":
		return true, true
	case "false", "":
		return false, true
	}
	return false, false
}

// checkRow applies the documented per-user rules; it returns why the row
// fails, or "".
func checkRow(p poolInfo, v map[string]string, now time.Time) string {
	username := v["cognito:username"]
	if username == "" {
		return "The User Record does not have a value for cognito:username, which is required."
	}
	if strings.ContainsAny(username, " \t") {
		return "The value of cognito:username cannot contain spaces or tabs."
	}
	mfaRaw := v["cognito:mfa_enabled"]
	mfa, ok := parseBool(mfaRaw)
	if mfaRaw == "" || !ok {
		return "The User Record must set cognito:mfa_enabled to true or false."
	}
	switch p.MfaConfiguration {
	case "ON":
		if !mfa {
			return "The user pool requires MFA: cognito:mfa_enabled must be true."
		}
	case "OFF":
		if mfa {
			return "The user pool has MFA off: cognito:mfa_enabled must be false."
		}
	}
	verified := map[string]bool{}
	for _, a := range []string{"email", "phone_number"} {
		b, ok := parseBool(v[a+"_verified"])
		if !ok {
			return fmt.Sprintf("The data does not match the schema: %s_verified must be true or false.", a)
		}
		verified[a] = b
		if b && v[a] == "" {
			return fmt.Sprintf("The User Record sets %s_verified to true but has no %s.", a, a)
		}
	}
	anyVerified := false
	for _, a := range p.AutoVerifiedAttributes {
		if verified[a] {
			anyVerified = true
		}
	}
	if !anyVerified {
		return "The User Record does not set any of the auto verified attributes to true. (Example: email_verified to true)."
	}
	if len(p.AutoVerifiedAttributes) == 1 && !verified[p.AutoVerifiedAttributes[0]] {
		return fmt.Sprintf("The User Record must set %s_verified to true.", p.AutoVerifiedAttributes[0])
	}
	for _, a := range p.SchemaAttributes {
		if a.Required && v[a.Name] == "" && a.Name != "sub" {
			return fmt.Sprintf("The User Record does not have a value for the required attribute %s.", a.Name)
		}
	}
	if ph := v["phone_number"]; ph != "" && !e164RE.MatchString(ph) {
		return "The data does not match the schema: phone_number must be in E.164 format (+ and digits only)."
	}
	if em := v["email"]; em != "" && !emailRE.MatchString(em) {
		return "The data does not match the schema: email is not a valid email address."
	}
	if u := v["updated_at"]; u != "" {
		n, err := strconv.ParseInt(u, 10, 64)
		if err != nil || n < 0 || n > now.Add(24*time.Hour).Unix() {
			return "The data does not match the schema: updated_at must be the epoch time in seconds."
		}
	}
	if b := v["birthdate"]; b != "" && !dateRE.MatchString(b) {
		return "The data does not match the schema: birthdate must be a date (mm/dd/yyyy)."
	}
	for name, val := range v {
		if !strings.HasPrefix(name, "custom:") || val == "" {
			continue
		}
		if len(val) > maxCustomByte {
			return fmt.Sprintf("The data does not match the schema: %s is longer than %d bytes.", name, maxCustomByte)
		}
		if t, _ := p.attrType(name); t == "Number" {
			if _, err := strconv.ParseFloat(val, 64); err != nil {
				return fmt.Sprintf("The data does not match the schema: %s must be a number.", name)
			}
		}
	}
	switch {
	case p.has(p.UsernameAttributes, "email") && !p.has(p.UsernameAttributes, "phone_number"):
		if !strings.EqualFold(username, v["email"]) {
			return "The user pool signs in by email: cognito:username must be the user's email."
		}
	case p.has(p.UsernameAttributes, "phone_number") && !p.has(p.UsernameAttributes, "email"):
		if username != v["phone_number"] {
			return "The user pool signs in by phone number: cognito:username must be the user's phone_number."
		}
	}
	if p.has(p.AliasAttributes, "email") && emailRE.MatchString(username) {
		return "Username cannot be of email format, since user pool is configured for email alias."
	}
	if p.has(p.AliasAttributes, "phone_number") && e164RE.MatchString(username) {
		return "Username cannot be of phone number format, since user pool is configured for phone number alias."
	}
	return ""
}

// importRow creates the row's user in cognito-local unless it exists.
func (s *Server) importRow(ctx context.Context, p poolInfo, r importRow) (string, string) {
	if r.err != "" {
		return "FAILED", r.err
	}
	if msg := checkRow(p, r.values, s.now()); msg != "" {
		return "FAILED", msg
	}
	username, e := s.storedName(ctx, p, r.values["cognito:username"]) // casefold.go
	if e != nil {
		return "FAILED", "Internal error: " + e.Message
	}
	e = s.call(ctx, "AdminGetUser", map[string]string{"UserPoolId": p.ID, "Username": username}, nil)
	if e == nil {
		return "SKIPPED", "The user already exists."
	}
	if e.Type != "UserNotFoundException" {
		return "FAILED", "Internal error: " + e.Message
	}
	var attrs []attribute
	for name, val := range r.values {
		if val == "" || strings.HasPrefix(name, "cognito:") {
			continue
		}
		if name == "email_verified" || name == "phone_number_verified" {
			val = strings.ToLower(val)
		}
		attrs = append(attrs, attribute{Name: name, Value: val})
	}
	var out struct {
		User struct {
			Username string `json:"Username"`
		} `json:"User"`
	}
	req := map[string]any{"UserPoolId": p.ID, "Username": username, "UserAttributes": attrs, "MessageAction": "SUPPRESS"}
	if e := s.call(ctx, "AdminCreateUser", req, &out); e != nil {
		if e.Type == "UsernameExistsException" || e.Type == "AliasExistsException" {
			return "SKIPPED", "The user already exists."
		}
		return "FAILED", "The data does not match the schema: " + e.Message
	}
	s.mu.Lock()
	if s.imported[p.ID] == nil {
		s.imported[p.ID] = map[string]bool{}
	}
	s.imported[p.ID][out.User.Username] = true
	s.mu.Unlock()
	return "SUCCEEDED", "The import succeeded."
}

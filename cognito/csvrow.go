package cognito

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Import CSV limits from the Cognito developer guide.
const (
	MaxRowChars  = 16000
	MaxFileRows  = 500000
	MaxFileBytes = 100 * 1000 * 1000
)

var (
	e164RE  = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// UsernameFrom chooses what goes in cognito:username.
type UsernameFrom string

// Username sources.
const (
	UsernameAuto     UsernameFrom = ""
	UsernameEmail    UsernameFrom = "email"
	UsernameUsername UsernameFrom = "username"
	UsernameSub      UsernameFrom = "sub"
)

// NewUsername is the cognito:username the user gets in the target: the email
// when the target signs in by email, the phone when it signs in by phone,
// otherwise the old Username; from overrides.
func (t Target) NewUsername(u User, from UsernameFrom) string {
	switch from {
	case UsernameEmail:
		return u.Attributes["email"]
	case UsernameUsername:
		return u.Username
	case UsernameSub:
		return u.Sub
	}
	switch {
	case t.signsInBy("email"):
		return u.Attributes["email"]
	case t.signsInBy("phone_number"):
		return u.Attributes["phone_number"]
	}
	return u.Username
}

// Row is one user's CSV values by column.
type Row map[string]string

// BuildRow fills the target's columns for a user, by attribute name.
// markVerified sets the verified flag of the contacts the target
// auto-verifies, for users whose contact the owner vouches for.
//
// A user NamedByLogin gets no custom:prev_*: their linked login, checked
// against the backup, names them instead.
func (t Target) BuildRow(u User, username string, markVerified bool) Row {
	r := Row{}
	byLogin := NamedByLogin(u)
	for _, col := range t.Header {
		switch col {
		case "cognito:username":
			r[col] = username
		case "cognito:mfa_enabled":
			r[col] = strconv.FormatBool(t.mfaEnabled(u))
		case PrevSubAttr:
			if !byLogin {
				r[col] = u.Sub
			}
		case PrevUsernameAttr:
			if !byLogin {
				r[col] = u.Username
			}
		case "updated_at":
			r[col] = epochSeconds(u)
		case "email_verified", "phone_number_verified":
			v := strings.EqualFold(u.Attributes[col], "true")
			if markVerified && u.Attributes[strings.TrimSuffix(col, "_verified")] != "" && t.autoVerifies(strings.TrimSuffix(col, "_verified")) {
				v = true
			}
			r[col] = strconv.FormatBool(v)
		default:
			r[col] = u.Attributes[col]
		}
	}
	return r
}

// mfaEnabled is consistent with the target: required pools need true,
// pools without MFA need false, optional pools keep the user's SMS MFA.
func (t Target) mfaEnabled(u User) bool {
	switch t.Pool.MFA {
	case "ON":
		return true
	case "OPTIONAL":
		return len(u.MFAOptions) > 0
	}
	return false
}

func (t Target) autoVerifies(attr string) bool {
	for _, a := range t.Pool.AutoVerifiedAttributes {
		if a == attr {
			return true
		}
	}
	return false
}

// epochSeconds is updated_at in seconds: the attribute when it holds a
// number (milliseconds are scaled down), else the last-modified date.
func epochSeconds(u User) string {
	if v := u.Attributes["updated_at"]; v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			if n > 1e11 { // milliseconds
				n /= 1000
			}
			return strconv.FormatInt(n, 10)
		}
	}
	if u.Modified.IsZero() {
		return ""
	}
	return strconv.FormatInt(u.Modified.Unix(), 10)
}

// EscapeValue writes a value the way the import parser reads it: commas
// escaped as \, and no quoting, which every CSV library would add instead.
func EscapeValue(v string) string {
	return strings.ReplaceAll(v, ",", `\,`)
}

// Line renders a row in header order, without the line break.
func (t Target) Line(r Row) string {
	var b strings.Builder
	for i, col := range t.Header {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(EscapeValue(r[col]))
	}
	return b.String()
}

// HeaderLine is the CSV's first line.
func (t Target) HeaderLine() string {
	return strings.Join(t.Header, ",")
}

func rowChars(line string) int { return utf8.RuneCountInString(line) }

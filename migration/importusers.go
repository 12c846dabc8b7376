package migration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/federated"
	"github.com/poolmigrate/poolmigrate/statedir"
)

// ImportAPI is every Cognito call an import makes.
type ImportAPI interface {
	cognito.TargetAPI
	cognito.ImportJobAPI
	cognito.AdminImportAPI
	cognito.RestoreAPI
	federated.API
}

// Import methods.
const (
	MethodJob   = "job"
	MethodAdmin = "admin"
)

// ImportOptions configure ImportUsers.
type ImportOptions struct {
	Backup     string
	CSVDir     string
	TargetPool string
	Method     string
	RoleARN    string
	DryRun     bool
	Limits     cognito.Limits
	Workers    int
	Poll       time.Duration
	HTTP       *http.Client
	// Confirm is asked, after every read and before the first write.
	Confirm func(ImportPreview) error
	// PrepareRole, when set, provides the job's role after the confirmation
	// (import --create-role).
	PrepareRole func(ctx context.Context) (string, error)
	// Logs reads the jobs' CloudWatch Logs for the reasons of failed
	// lines; nil (or no permission) leaves the reasons at "see the log".
	Logs cognito.LogReader
	// Notify tells the user something worth knowing (stderr).
	Notify func(format string, args ...any)
	// Progress reports how far the current phase is.
	Progress func(ImportProgress)
}

// ImportProgress is how far an import is: Done of Total (0 when unknown)
// in the current phase.
type ImportProgress struct {
	Phase       string
	Done, Total int64
	Detail      string
}

// ImportPreview is what an import is about to do.
type ImportPreview struct {
	Pool             cognito.Pool `json:"pool"`
	Method           string       `json:"method"`
	Rows             int64        `json:"rows"`
	AlreadyThere     int64        `json:"alreadyThere"`
	GroupsToCreate   []string     `json:"groupsToCreate"`
	Memberships      int          `json:"memberships"`
	MembershipsThere int          `json:"membershipsThere"`
	Disabled         int          `json:"disabled"`
	MissingPrevAttrs []string     `json:"missingPrevAttributes"`
	Files            []string     `json:"files"`
	// Federated are the backup's users with provider identities (they
	// are not in the CSV: the import creates and links them); the new
	// pool must have each provider they sign in with.
	Federated        int            `json:"federated"`
	Providers        map[string]int `json:"providers"`
	MissingProviders []string       `json:"missingProviders"`
}

// ImportSummary is what `import --json` prints.
type ImportSummary struct {
	DryRun             bool                 `json:"dryRun"`
	Imported           int64                `json:"imported"`
	Skipped            int64                `json:"skipped"`
	Failed             int64                `json:"failed"`
	FailedUsers        []cognito.FailedUser `json:"failedUsers"`
	GroupsCreated      int                  `json:"groupsCreated"`
	MembershipsAdded   int                  `json:"membershipsAdded"`
	UsersDisabled      int                  `json:"usersDisabled"`
	MembershipsSkipped int                  `json:"membershipsSkipped"`
	DisabledSkipped    int                  `json:"disabledSkipped"`
	Jobs               []cognito.JobResult  `json:"jobs"`
	Preview            ImportPreview        `json:"preview"`
	// Federated users: created in the new pool and linked to their
	// provider identity, identities linked, users who had signed in to
	// the new pool already and were given their old identity.
	FederatedCreated int64 `json:"federatedCreated"`
	IdentitiesLinked int64 `json:"identitiesLinked"`
	FederatedAdopted int64 `json:"federatedAdopted"`
	// LoginsNotLinked are password users the old pool had linked a login
	// to, imported with their password way in only (see federated.Result).
	LoginsNotLinked []cognito.FailedUser `json:"loginsNotLinked,omitempty"`
	// RefusedClaims are users of the new pool whose old identity does not
	// agree with the backup: nothing is restored for them.
	RefusedClaims []ClaimRefusal `json:"refusedClaims"`
}

// PartialError is returned when some users could not be imported; the
// summary says which.
type PartialError struct {
	Summary ImportSummary
}

func (e *PartialError) Error() string {
	s := e.Summary
	var names []string
	for i, f := range s.FailedUsers {
		if i == 10 {
			names = append(names, fmt.Sprintf("and %d more", len(s.FailedUsers)-10))
			break
		}
		names = append(names, f.Username)
	}
	return fmt.Sprintf("imported %d, skipped %d (already there), %d failed: %s; fix what the reasons say and run import again (users already there are skipped)",
		s.Imported, s.Skipped, s.Failed, strings.Join(names, ", "))
}

// ExitCode makes a partial import exit 1.
func (e *PartialError) ExitCode() int { return 1 }

// ErrNotConfirmed is returned when the user declines.
var ErrNotConfirmed = errors.New("import not confirmed")

// ImportUsers brings the users of an export into the target pool (CSV
// import jobs or AdminCreateUser), then restores groups, memberships and
// disabled state from the backup. Every step recognises what is already
// there, so an interrupted import finishes by running it again.
func ImportUsers(ctx context.Context, api ImportAPI, o ImportOptions) (ImportSummary, error) {
	sum := ImportSummary{DryRun: o.DryRun, FailedUsers: []cognito.FailedUser{}, Jobs: []cognito.JobResult{}, RefusedClaims: []ClaimRefusal{}}
	if o.Notify == nil {
		o.Notify = func(string, ...any) {}
	}
	if o.Progress == nil {
		o.Progress = func(ImportProgress) {}
	}
	m, err := cognito.ReadExportManifest(o.CSVDir)
	if err != nil {
		return sum, err
	}
	if !o.DryRun {
		// One run an export: two would start the same import jobs, and
		// the restore of groups and memberships, twice at once.
		lock, err := statedir.LockFile(filepath.Join(o.CSVDir, "import"), "import --target-pool "+o.TargetPool)
		if err != nil {
			return sum, err
		}
		defer lock.Unlock()
	}
	if m.TargetPool != o.TargetPool {
		return sum, fmt.Errorf("%s was exported for pool %s, not %s: export again for this pool", o.CSVDir, m.TargetPool, o.TargetPool)
	}
	extras, err := cognito.ReadBackupExtras(o.Backup)
	if err != nil {
		return sum, err
	}
	if extras.Footer.SHA256 != m.BackupSHA256 {
		return sum, fmt.Errorf("%s was exported from another backup (sha256 %s) than %s (%s)", o.CSVDir, m.BackupSHA256, o.Backup, extras.Footer.SHA256)
	}
	target, err := cognito.ReadTarget(ctx, api, o.TargetPool)
	if err != nil {
		return sum, err
	}
	preview := ImportPreview{Pool: target.Pool, Method: o.Method, Rows: m.Exported, MissingPrevAttrs: target.MissingPrevAttributes(), GroupsToCreate: []string{}}
	if !sameSet(target.Header, m.Header) && len(preview.MissingPrevAttrs) == 0 {
		return sum, fmt.Errorf("the CSV header of pool %s changed since the export (attributes added?): run export again", o.TargetPool)
	}
	var files, maps []string
	for _, f := range m.Files {
		files = append(files, filepath.Join(o.CSVDir, f.CSV))
		maps = append(maps, filepath.Join(o.CSVDir, f.LineMap))
	}
	preview.Files = files

	migrated, claims, err := ListClaims(ctx, api, o.TargetPool, o.Backup, o.Limits.UserList, "")
	if err != nil {
		return sum, err
	}
	sum.RefusedClaims = claims.Refused
	for _, lm := range maps {
		if err := cognito.ReadLineMap(lm, func(e cognito.LineMapEntry) error {
			if _, ok := migrated.Get(e.OldSub); ok {
				preview.AlreadyThere++
			}
			return nil
		}); err != nil {
			return sum, err
		}
	}
	rp, err := cognito.PlanRestore(ctx, api, o.TargetPool, extras, migrated, o.Limits)
	if err != nil {
		return sum, err
	}
	for _, g := range rp.GroupsToCreate {
		preview.GroupsToCreate = append(preview.GroupsToCreate, g.Name)
	}
	preview.Memberships, preview.MembershipsThere, preview.Disabled = len(extras.Memberships), rp.MembershipsThere, len(extras.Disabled)
	fedUsers, fedBad, err := federated.Read(o.Backup)
	if err != nil {
		return sum, err
	}
	preview.Federated, preview.Providers = len(fedUsers), federated.Providers(fedUsers)
	if preview.MissingProviders, err = federated.MissingProviders(ctx, api, o.TargetPool, preview.Providers); err != nil {
		return sum, err
	}
	for _, p := range preview.MissingProviders {
		o.Notify("%s (%d users).", federated.MissingProviderReason(p, o.TargetPool), preview.Providers[p])
	}
	sum.Preview = preview
	if o.DryRun {
		return sum, nil
	}
	if o.Confirm != nil {
		if err := o.Confirm(preview); err != nil {
			return sum, err
		}
	}

	if o.PrepareRole != nil && o.Method != MethodAdmin {
		if o.RoleARN, err = o.PrepareRole(ctx); err != nil {
			return sum, err
		}
	}
	if len(preview.MissingPrevAttrs) > 0 {
		o.Notify("Adding %s to pool %s: they carry each user's old identity (custom attributes cannot be removed afterwards).", strings.Join(preview.MissingPrevAttrs, " and "), o.TargetPool)
		if err := cognito.AddPrevAttributes(ctx, api, o.TargetPool, preview.MissingPrevAttrs); err != nil {
			return sum, err
		}
	}

	failedReason := map[string]string{} // old sub -> reason
	switch o.Method {
	case MethodAdmin:
		res, err := cognito.AdminImport(ctx, api, o.TargetPool, files, migrated, o.Limits, o.Workers, func(n int64) {
			o.Progress(ImportProgress{Phase: "create users", Done: n, Total: m.Exported})
		})
		sum.Imported, sum.Skipped = res.Imported, res.Skipped
		for _, f := range res.Failed {
			failedReason[f.Sub] = f.Reason
		}
		if err != nil {
			return sum, err
		}
	default:
		for i, f := range files {
			jr, err := cognito.RunImportJob(ctx, api, cognito.JobOptions{
				PoolID: o.TargetPool, PoolName: target.Pool.Name, RoleARN: o.RoleARN, HTTP: o.HTTP, Poll: o.Poll,
				Progress: func(p cognito.JobProgress) {
					o.Progress(ImportProgress{Phase: fmt.Sprintf("import job %d of %d", i+1, len(files)), Done: int64(p.Imported + p.Skipped + p.Failed), Total: int64(p.Rows),
						Detail: fmt.Sprintf("%s %s: %d imported, %d skipped, %d failed", p.JobID, p.Status, p.Imported, p.Skipped, p.Failed)})
				},
			}, f, m.Files[i].Rows)
			if jr.JobID != "" {
				sum.Jobs = append(sum.Jobs, jr)
			}
			if err != nil {
				return sum, err
			}
			sum.Imported += jr.Imported
			sum.Skipped += jr.Skipped
			if jr.Status != "Succeeded" && jr.Imported+jr.Skipped+jr.Failed == 0 {
				return sum, fmt.Errorf("import job %s for %s ended %s: %s (check that the role %s exists, trusts cognito-idp.amazonaws.com and may write to CloudWatch Logs group /aws/cognito/*)", jr.JobID, filepath.Base(f), jr.Status, jr.CompletionMessage, o.RoleARN)
			}
		}
	}

	// The job logs say why lines failed, by line number.
	lineReasons := map[int]map[int]string{} // file index -> line -> reason
	if o.Logs != nil {
		for i, j := range sum.Jobs {
			if j.Failed == 0 {
				continue
			}
			reasons, err := cognito.ReadJobLog(ctx, o.Logs, j.LogGroup, j.LogStream)
			if err != nil {
				o.Notify("Could not read the import job's log (%v); the failed users below point at it.", err)
				continue
			}
			lineReasons[i] = reasons
		}
	}

	// Whatever the method said, the target decides who is there.
	migrated, claims, err = ListClaims(ctx, api, o.TargetPool, o.Backup, o.Limits.UserList, "")
	if err != nil {
		return sum, err
	}
	sum.RefusedClaims = claims.Refused
	if len(fedUsers) > 0 || len(fedBad) > 0 {
		o.Progress(ImportProgress{Phase: "federated users", Detail: "create and link to their provider identities"})
		fr, err := federated.Import(ctx, api, target, fedUsers, migrated, o.Limits)
		sum.FederatedCreated, sum.IdentitiesLinked, sum.FederatedAdopted = fr.Created, fr.Linked, fr.Adopted
		sum.Imported += fr.Created + fr.Adopted
		sum.FailedUsers = append(sum.FailedUsers, fr.Failed...)
		sum.LoginsNotLinked = fr.Unlinked
		sum.FailedUsers = append(sum.FailedUsers, fedBad...)
		if err != nil {
			return sum, err
		}
		// The users just made or linked are read back through the same
		// claim check as everyone else's (a password user named by their
		// login is found only once it is linked).
		if migrated, claims, err = ListClaims(ctx, api, o.TargetPool, o.Backup, o.Limits.UserList, ""); err != nil {
			return sum, err
		}
		sum.RefusedClaims = claims.Refused
	}
	fedFailed := map[string]bool{} // old sub -> the federated step named it
	for _, f := range sum.FailedUsers {
		fedFailed[f.Sub] = true
	}
	refusedFor := map[string]string{} // old sub -> why its claimant is not taken
	for _, c := range claims.Refused {
		refusedFor[c.ClaimedSub] = fmt.Sprintf("the new pool's user %s claims this old user, and the claim is refused (%s: %s)", c.Username, c.Code, c.Reason)
	}
	for fi, lm := range maps {
		if err := cognito.ReadLineMap(lm, func(e cognito.LineMapEntry) error {
			if _, ok := migrated.Get(e.OldSub); ok || fedFailed[e.OldSub] {
				return nil
			}
			reason := failedReason[e.OldSub]
			if r, ok := refusedFor[e.OldSub]; ok {
				reason = r
			}
			if reason == "" {
				reason = "not in the target pool after the import"
				if fi < len(sum.Jobs) {
					j := sum.Jobs[fi]
					if r, ok := lineReasons[fi][e.Line]; ok {
						reason = fmt.Sprintf("%s (import job %s, line %d)", r, j.JobID, e.Line)
					} else {
						reason = fmt.Sprintf("not in the target pool after import job %s; its result is line %d of CloudWatch Logs group %s, stream %s", j.JobID, e.Line, j.LogGroup, j.LogStream)
					}
				}
			}
			sum.FailedUsers = append(sum.FailedUsers, cognito.FailedUser{Username: e.OldUsername, Sub: e.OldSub, Reason: reason})
			return nil
		}); err != nil {
			return sum, err
		}
	}
	sort.Slice(sum.FailedUsers, func(i, j int) bool { return sum.FailedUsers[i].Username < sum.FailedUsers[j].Username })
	sum.Failed = int64(len(sum.FailedUsers))

	o.Progress(ImportProgress{Phase: "restore", Detail: "groups, memberships and disabled users"})
	rp, err = cognito.PlanRestore(ctx, api, o.TargetPool, extras, migrated, o.Limits)
	if err != nil {
		return sum, err
	}
	rr, err := cognito.Restore(ctx, api, o.TargetPool, rp, o.Limits)
	sum.GroupsCreated, sum.MembershipsAdded, sum.UsersDisabled = rr.GroupsCreated, rr.MembershipsAdded, rr.UsersDisabled
	sum.MembershipsSkipped, sum.DisabledSkipped = len(rp.MembershipsMissed), len(rp.DisabledMissed)
	if err != nil {
		return sum, err
	}
	if sum.Failed > 0 {
		return sum, &PartialError{Summary: sum}
	}
	return sum, nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, v := range a {
		seen[v] = true
	}
	for _, v := range b {
		if !seen[v] {
			return false
		}
	}
	return true
}

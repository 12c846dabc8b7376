package cognito

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
)

// AdminImportAPI is the part of the Cognito API the admin import uses.
type AdminImportAPI interface {
	AdminCreateUser(ctx context.Context, in *cip.AdminCreateUserInput, optFns ...func(*cip.Options)) (*cip.AdminCreateUserOutput, error)
	AdminSetUserPassword(ctx context.Context, in *cip.AdminSetUserPasswordInput, optFns ...func(*cip.Options)) (*cip.AdminSetUserPasswordOutput, error)
}

// FailedUser is a user the import could not bring over, and why.
type FailedUser struct {
	Username string `json:"username"`
	Sub      string `json:"sub"`
	Reason   string `json:"reason"`
}

// AdminResult counts an admin import.
type AdminResult struct {
	Imported    int64
	Skipped     int64
	Failed      []FailedUser
	PasswordSet int64 // users left FORCE_CHANGE_PASSWORD by an earlier run, fixed now
}

// AdminImport creates each CSV row's user with AdminCreateUser and
// MessageAction SUPPRESS (no invitation: the default sender allows 50 mails
// a day), then sets a random password nobody knows as permanent. The user is
// then CONFIRMED, so the app's forgot-password flow (ForgotPassword →
// ConfirmForgotPassword), which Cognito refuses for FORCE_CHANGE_PASSWORD
// users, lets each one choose a password. Users already in the target
// (recognised by custom:prev_sub_id) are skipped, and one an earlier run
// left without a password gets it now, so a re-run finishes the job.
func AdminImport(ctx context.Context, api AdminImportAPI, pool string, files []string, migrated *MigratedUsers, l Limits, workers int, progress func(done int64)) (AdminResult, error) {
	var (
		res  AdminResult
		mu   sync.Mutex
		done int64
	)
	if workers <= 0 {
		workers = 4
	}
	type job struct{ row Row }
	jobs := make(chan job)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var fatal error
	var once sync.Once
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				outcome, fu, err := adminImportRow(ctx, api, pool, j.row, migrated, l)
				if err != nil {
					once.Do(func() { fatal = err; cancel() })
					continue
				}
				mu.Lock()
				switch outcome {
				case "imported":
					res.Imported++
				case "skipped":
					res.Skipped++
				case "password":
					res.Skipped++
					res.PasswordSet++
				case "failed":
					res.Failed = append(res.Failed, fu)
				}
				done++
				n := done
				mu.Unlock()
				if progress != nil {
					progress(n)
				}
			}
		}()
	}
	var readErr error
	for _, f := range files {
		readErr = ReadCSVRows(f, func(_ int, r Row) error {
			select {
			case jobs <- job{r}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if readErr != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	if fatal != nil {
		return res, fatal
	}
	if readErr != nil {
		return res, readErr
	}
	return res, ctx.Err()
}

// adminImportRow brings one user over. Per-user refusals are "failed";
// errors that would fail every user (no permission, no pool) are returned.
func adminImportRow(ctx context.Context, api AdminImportAPI, pool string, r Row, migrated *MigratedUsers, l Limits) (string, FailedUser, error) {
	fu := FailedUser{Username: r[PrevUsernameAttr], Sub: r[PrevSubAttr]}
	if fu.Username == "" { // a user NamedByLogin
		fu.Username = r["cognito:username"]
	}
	if tu, ok := migrated.Get(fu.Sub); ok {
		if tu.Status != string(types.UserStatusTypeForceChangePassword) {
			return "skipped", fu, nil
		}
		if err := setRandomPassword(ctx, api, pool, tu.Username, l); err != nil {
			return classify(fu, err)
		}
		return "password", fu, nil
	}
	var attrs []types.AttributeType
	for name, v := range r {
		if v == "" || strings.HasPrefix(name, "cognito:") {
			continue
		}
		attrs = append(attrs, types.AttributeType{Name: ptr(name), Value: ptr(v)})
	}
	if err := l.UserCreation.Wait(ctx); err != nil {
		return "", fu, err
	}
	out, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: &pool, Username: ptr(r["cognito:username"]), UserAttributes: attrs,
		MessageAction: types.MessageActionTypeSuppress,
	})
	if apiCode(err) == "UsernameExistsException" {
		return "skipped", fu, nil
	}
	if err != nil {
		return classify(fu, err)
	}
	if err := setRandomPassword(ctx, api, pool, deref(out.User.Username), l); err != nil {
		return classify(fu, err)
	}
	return "imported", fu, nil
}

// classify turns a per-user API refusal into a failed user, and anything
// else into an error that stops the import.
func classify(fu FailedUser, err error) (string, FailedUser, error) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "InvalidParameterException", "InvalidPasswordException", "AliasExistsException", "UserNotFoundException", "CodeDeliveryFailureException":
			fu.Reason = ae.ErrorCode() + ": " + ae.ErrorMessage()
			return "failed", fu, nil
		}
	}
	return "", fu, fmt.Errorf("import user %s: %w", fu.Username, err)
}

func setRandomPassword(ctx context.Context, api AdminImportAPI, pool, username string, l Limits) error {
	if err := l.UserUpdate.Wait(ctx); err != nil {
		return err
	}
	pw, err := randomPassword()
	if err != nil {
		return err
	}
	_, err = api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &pool, Username: &username, Password: &pw, Permanent: true})
	return err
}

// randomPassword is 40 characters with every class a password policy may
// require. It is never stored or printed.
func randomPassword() (string, error) {
	classes := []string{"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "^$*.[]{}()?-!@#%&/,><:;|_~"}
	all := strings.Join(classes, "")
	var b strings.Builder
	pick := func(set string) error {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return err
		}
		b.WriteByte(set[n.Int64()])
		return nil
	}
	for _, c := range classes {
		if err := pick(c); err != nil {
			return "", err
		}
	}
	for b.Len() < 40 {
		if err := pick(all); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

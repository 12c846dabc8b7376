package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// appSide is one user pool as the app reaches it: the app client its
// users sign in through and the identity pool that gives them their
// identity ids.
type appSide struct {
	pool, client, identityPool string
}

// fileUser is a user who keeps files: how they sign in to the old pool
// and to the new one, with the password they have in each.
type fileUser struct {
	name                  string
	oldLogin, oldPassword string
	newLogin, newPassword string
	oldID, newID          string
	files                 map[string]string // path template + file name -> content
	keys                  []string          // the files' keys, sorted
}

// userFiles plants each user's files under their identity id before the
// migration, and reads them back after it as the app does: the user signs
// in, asks the identity pool for their identity id (GetId with their ID
// token) and lists and reads the objects under the folders named by it.
// The test bed has no IAM: objects are read with the test bed's
// credentials, under the folders the identity id names.
type userFiles struct {
	idp       *cip.Client
	identity  *cognitoidentity.Client
	s3        *s3.Client
	region    string
	bucket    string
	templates []string // per-identity paths, each with {entity_id}, ending in /
	users     []*fileUser
}

func newUserFiles(ctx context.Context, idp *cip.Client, identityEndpoint, bucket string, templates []string, users []*fileUser) *userFiles {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	return &userFiles{idp: idp, region: cfg.Region, bucket: bucket, templates: templates, users: users,
		identity: cognitoidentity.NewFromConfig(cfg, func(o *cognitoidentity.Options) {
			if identityEndpoint != "" {
				o.BaseEndpoint = aws.String(identityEndpoint)
			}
		}),
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true; o.DisableLogOutputChecksumValidationSkipped = true })}
}

// identityID signs the user in through the side's app client and asks its
// identity pool for their identity id.
func (f *userFiles) identityID(ctx context.Context, side appSide, login, password string) (string, error) {
	out, err := f.idp.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &side.client, AuthFlow: ctypes.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": login, "PASSWORD": password}})
	if err != nil {
		return "", fmt.Errorf("sign in to %s: %w", side.pool, err)
	}
	if out.AuthenticationResult == nil {
		return "", fmt.Errorf("sign in to %s: a challenge (%s), not tokens", side.pool, out.ChallengeName)
	}
	provider := "cognito-idp." + f.region + ".amazonaws.com/" + side.pool
	id, err := f.identity.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &side.identityPool,
		Logins: map[string]string{provider: aws.ToString(out.AuthenticationResult.IdToken)}})
	if err != nil {
		return "", fmt.Errorf("GetId in %s: %w", side.identityPool, err)
	}
	return aws.ToString(id.IdentityId), nil
}

func folder(template, id string) string { return strings.ReplaceAll(template, "{entity_id}", id) }

// plant signs each user in to the old pool and puts a file under each of
// their identity folders.
func (f *userFiles) plant(ctx context.Context, old appSide) {
	for _, u := range f.users {
		id, err := f.identityID(ctx, old, u.oldLogin, u.oldPassword)
		if err != nil {
			log.Fatalf("demo: %s: %v", u.name, err)
		}
		u.oldID, u.files = id, map[string]string{}
		for _, tpl := range f.templates {
			name := "notes.txt"
			if !strings.HasPrefix(tpl, "private/") {
				name = "avatar.txt"
			}
			rel := tpl + name
			body := fmt.Sprintf("%s's %s, saved before the migration\n", u.name, rel)
			must(f.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &f.bucket, Key: aws.String(folder(rel, id)), Body: strings.NewReader(body), ContentType: aws.String("text/plain")}))
			u.files[rel] = body
			u.keys = append(u.keys, rel)
		}
		sort.Strings(u.keys)
		fmt.Printf("   %-6s identity %s: %s\n", u.name, id, strings.Join(u.keys, ", "))
	}
}

// read signs each user in to the new pool, gets their identity id and
// reads their files; it prints one line for the route and stops the demo
// when a user cannot read all of theirs. sameID: the route keeps each
// user's identity id (link); otherwise each gets a new one (copy).
func (f *userFiles) read(ctx context.Context, route string, side appSide, sameID bool) {
	var failed []string
	for _, u := range f.users {
		if err := f.readOne(ctx, u, side, sameID); err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", u.name, err))
			continue
		}
		fmt.Printf("   %-6s identity %s: %d files, as saved\n", u.name, u.newID, len(u.keys))
	}
	where := "under their new identity id"
	if sameID {
		where = "under the identity id they had"
	}
	fmt.Printf("storage (%s): %d of %d users read their own files %s\n", route, len(f.users)-len(failed), len(f.users), where)
	if len(failed) > 0 {
		log.Fatalf("demo: storage (%s): %d of %d users cannot read their own files after the migration: %s", route, len(failed), len(f.users), strings.Join(failed, "; "))
	}
}

func (f *userFiles) readOne(ctx context.Context, u *fileUser, side appSide, sameID bool) error {
	id, err := f.identityID(ctx, side, u.newLogin, u.newPassword)
	if err != nil {
		return err
	}
	u.newID = id
	switch {
	case sameID && id != u.oldID:
		return fmt.Errorf("the identity pool answers %s, not the identity %s their files are under", id, u.oldID)
	case !sameID && id == u.oldID:
		return fmt.Errorf("the new identity pool answers the old identity id %s", id)
	}
	for _, tpl := range f.templates {
		prefix := folder(tpl, id)
		list := must(f.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &f.bucket, Prefix: &prefix}))
		found := 0
		for _, o := range list.Contents {
			rel := tpl + strings.TrimPrefix(aws.ToString(o.Key), prefix)
			want, ok := u.files[rel]
			if !ok {
				continue
			}
			obj, err := f.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &f.bucket, Key: o.Key})
			if err != nil {
				return fmt.Errorf("read %s: %w", aws.ToString(o.Key), err)
			}
			got, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				return fmt.Errorf("read %s: %w", aws.ToString(o.Key), err)
			}
			if string(got) != want {
				return fmt.Errorf("%s holds %q, not what they saved", aws.ToString(o.Key), got)
			}
			found++
		}
		if want := countPrefix(u.files, tpl); found != want {
			return fmt.Errorf("%d of their %d files under %s", found, want, prefix)
		}
	}
	return nil
}

func countPrefix(m map[string]string, prefix string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

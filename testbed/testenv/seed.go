package testenv

import (
	"context"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// SeedUser is a user to plant in a fixture pool.
type SeedUser struct {
	Username string
	Attrs    map[string]string
	Disabled bool
	Groups   []string
	// Unconfirmed users are created by SignUp, so they stay UNCONFIRMED.
	Unconfirmed bool
}

// SeedGroup is a group to plant.
type SeedGroup struct {
	Name        string
	Description string
	Precedence  *int32
	RoleArn     string
}

// Seed plants groups and users directly in cognito-local (the shim, like
// AWS, would refuse some fixtures, such as a chosen sub).
func (e *Env) Seed(t testing.TB, pool string, groups []SeedGroup, users []SeedUser) {
	t.Helper()
	ctx := context.Background()
	for _, g := range groups {
		in := &cip.CreateGroupInput{UserPoolId: &pool, GroupName: aws.String(g.Name), Precedence: g.Precedence}
		if g.Description != "" {
			in.Description = aws.String(g.Description)
		}
		if g.RoleArn != "" {
			in.RoleArn = aws.String(g.RoleArn)
		}
		if _, err := e.Local.CreateGroup(ctx, in); err != nil {
			t.Fatalf("seed group %s: %v", g.Name, err)
		}
	}
	var clientID string
	for _, u := range users {
		if u.Unconfirmed && clientID == "" {
			out, err := e.Local.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: aws.String("seed")})
			if err != nil {
				t.Fatalf("seed client: %v", err)
			}
			clientID = *out.UserPoolClient.ClientId
		}
	}
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for _, u := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func(u SeedUser) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := e.seedUser(ctx, pool, clientID, u); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}(u)
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("seed users: %v", firstErr)
	}
}

func (e *Env) seedUser(ctx context.Context, pool, clientID string, u SeedUser) error {
	names := make([]string, 0, len(u.Attrs))
	for n := range u.Attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	var attrs []types.AttributeType
	for _, n := range names {
		attrs = append(attrs, types.AttributeType{Name: aws.String(n), Value: aws.String(u.Attrs[n])})
	}
	if u.Unconfirmed {
		if _, err := e.Local.SignUp(ctx, &cip.SignUpInput{ClientId: &clientID, Username: aws.String(u.Username), Password: aws.String("Passw0rd!x"), UserAttributes: attrs}); err != nil {
			return err
		}
	} else if _, err := e.Local.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String(u.Username), UserAttributes: attrs, MessageAction: types.MessageActionTypeSuppress}); err != nil {
		return err
	}
	if u.Disabled {
		if _, err := e.Local.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: &pool, Username: aws.String(u.Username)}); err != nil {
			return err
		}
	}
	for _, g := range u.Groups {
		if _, err := e.Local.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, Username: aws.String(u.Username), GroupName: aws.String(g)}); err != nil {
			return err
		}
	}
	return nil
}

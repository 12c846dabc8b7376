package cognito

import (
	"context"
	"fmt"
	"sort"
	"strings"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// A user's custom:prev_sub_id / custom:prev_username say which old user
// they are. Only the import, the admin import and the trigger may write
// them, once, when they create the user: the attributes are immutable,
// and no app client may write them (a client may write an immutable
// attribute at sign-up). check reports a pool where either is not so.

// Codes of check's reports on who may write the old identity.
const (
	CodePrevAttributesMutable  = "PREV_ATTRIBUTES_MUTABLE"
	CodePrevAttributesWritable = "PREV_ATTRIBUTES_WRITABLE"
)

// ClientsAPI is the part of the Cognito API that reads a pool's app
// clients.
type ClientsAPI interface {
	ListUserPoolClients(ctx context.Context, in *cip.ListUserPoolClientsInput, optFns ...func(*cip.Options)) (*cip.ListUserPoolClientsOutput, error)
	DescribeUserPoolClient(ctx context.Context, in *cip.DescribeUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolClientOutput, error)
}

// PrevWriter is an app client that can write the old identity.
type PrevWriter struct {
	ClientID   string   `json:"clientId"`
	ClientName string   `json:"clientName"`
	Attributes []string `json:"attributes"` // the custom:prev_* it may write
	All        bool     `json:"all"`        // WriteAttributes is empty: it may write every attribute
}

// PrevWriters lists the app clients of pool that may write
// custom:prev_sub_id or custom:prev_username: their WriteAttributes name
// one, or are empty, which Cognito reads as every attribute.
func PrevWriters(ctx context.Context, api ClientsAPI, pool string) ([]PrevWriter, error) {
	var out []PrevWriter
	p := cip.NewListUserPoolClientsPaginator(api, &cip.ListUserPoolClientsInput{UserPoolId: &pool, MaxResults: ptr(int32(60))})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the app clients of pool %s: %w", pool, err)
		}
		for _, c := range page.UserPoolClients {
			d, err := api.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &pool, ClientId: c.ClientId})
			if err != nil {
				return nil, fmt.Errorf("describe app client %s of pool %s: %w", deref(c.ClientId), pool, err)
			}
			w := PrevWriter{ClientID: deref(c.ClientId), ClientName: deref(c.ClientName)}
			write := d.UserPoolClient.WriteAttributes
			if len(write) == 0 {
				w.All, w.Attributes = true, []string{PrevSubAttr, PrevUsernameAttr}
			}
			for _, a := range write {
				if a == PrevSubAttr || a == PrevUsernameAttr {
					w.Attributes = append(w.Attributes, a)
				}
			}
			if len(w.Attributes) > 0 {
				out = append(out, w)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ClientID < out[j].ClientID })
	return out, nil
}

// MutablePrevAttributes lists the old-identity attributes the pool has
// as mutable (made so by an older version of check --fix, or by hand).
func (t Target) MutablePrevAttributes() []string {
	var out []string
	for _, a := range t.Pool.Attributes {
		if (a.Name == PrevSubAttr || a.Name == PrevUsernameAttr) && a.Mutable {
			out = append(out, a.Name)
		}
	}
	return out
}

// PrevGuardProblems are check's reports on who may write the old
// identity: mutable attributes (which cannot be changed: custom
// attributes are fixed once added) and clients that may write them.
// Neither blocks the import: sync, remap, verify and retire accept a claim
// only when it agrees with the backup (see migration.ListClaims), but
// users can then forge or spoil claims.
func PrevGuardProblems(t Target, writers []PrevWriter) []Problem {
	var out []Problem
	if mutable := t.MutablePrevAttributes(); len(mutable) > 0 {
		out = append(out, Problem{Code: CodePrevAttributesMutable, Users: []string{}, Attribute: strings.Join(mutable, ", "),
			Message: strings.Join(mutable, ", ") + ": mutable in the new pool (a pool prepared by an older poolmigrate): a user whose app client may write them can change the old identity they claim with their own token; sync, remap, verify and retire then refuse the claim unless it agrees with the backup, but it can spoil the real user's",
			Fix:     "make sure no app client may write them (see " + CodePrevAttributesWritable + "); custom attributes cannot be changed once added, so only a new pool, prepared with check --fix before anything else, has them immutable"})
	}
	if len(writers) > 0 {
		var names []string
		for _, w := range writers {
			what := strings.Join(w.Attributes, ", ")
			if w.All {
				what = "every attribute: WriteAttributes is empty"
			}
			names = append(names, fmt.Sprintf("%s (%s: %s)", w.ClientName, w.ClientID, what))
		}
		out = append(out, Problem{Code: CodePrevAttributesWritable, Count: len(writers), Users: []string{}, Attribute: PrevSubAttr + ", " + PrevUsernameAttr,
			Message: "app clients of the new pool may write the old identity, so a user can claim any old user at sign-up or later: " + strings.Join(names, "; "),
			Fix:     "give each client a WriteAttributes list that leaves out custom:prev_sub_id and custom:prev_username: Gen 1 `amplify update auth` (\"Specify write attributes\"), Gen 2 `poolmigrate patch` (its block sets the web client's list), or UpdateUserPoolClient (which resets every setting it is not given)"})
	}
	return out
}

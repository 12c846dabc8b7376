package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/statedir"
	"github.com/poolmigrate/poolmigrate/storage"
)

// storageCommand is `poolmigrate storage`: the app's stored files across
// the move. Its subcommands are added here.
func storageCommand(a *App) command {
	return command{
		name:        "storage",
		summary:     "users' files (S3 storage) and identity ids across the move: plan, link, copy, verify, rollback, retire, status",
		usage:       "storage",
		subcommands: []command{storagePlanCommand(a), storageCopyCommand(a), storageVerifyCommand(a), storageRollbackCommand(a), storageRetireCommand(a), storageStatusCommand(a), storageLinkCommand(a)},
	}
}

func storagePlanCommand(a *App) command {
	return command{
		name:    "plan",
		summary: "show the app's buckets, per-identity paths, identity pool, identity-id fields and the route the migration takes to keep users' files (reads only)",
		usage:   "plan [--live] [--identity-field Type.field]... [--api-id ID] [--json] [--dry-run]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			live := fs.Bool("live", false, "count each per-identity path's identity folders, objects and bytes in S3, and sample the data's tables for values like identity ids")
			fields := identityFieldFlag(fs)
			var apiID string
			fs.StringVar(&apiID, "api-id", "", "Gen 2: the data's AppSync API id, when nothing else names it (env POOLMIGRATE_API_ID)")
			fs.Bool("dry-run", false, "accepted for symmetry with the other storage commands: plan never writes")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("storage plan takes no arguments (got %q)", strings.Join(args, " "))
				}
				_, sp, err := a.planWithStorage(ctx, g, "storage plan", *live, apiID, *fields)
				if err != nil {
					return err
				}
				if g.json {
					return writeJSON(a.Stdout, sp)
				}
				printStorage(a.Stdout, sp)
				return nil
			}
		},
	}
}

// identityFieldFlag registers --identity-field (repeatable).
func identityFieldFlag(fs *pflag.FlagSet) *[]string {
	return fs.StringArray("identity-field", nil, "a `FIELD` of the app's data, written Type.field (e.g. Profile.identityId), that stores Cognito identity ids (repeatable); checked against the schema")
}

// planWithStorage reads the plan and its storage part; with live, both
// are confirmed against AWS.
func (a *App) planWithStorage(ctx context.Context, g *globals, cmd string, live bool, apiID string, fields []string) (*migration.Plan, *storage.Plan, error) {
	pl, root, err := a.loadPlan(g, planOptions{allowUnknownEnv: true, apiID: apiID})
	if err != nil {
		return nil, nil, err
	}
	sp, err := readStorage(pl, root, fields)
	if err != nil {
		return nil, nil, err
	}
	if !live {
		return pl, sp, nil
	}
	if pl.Generation == 1 && pl.Env == "" {
		return nil, nil, usagef("%s --live needs the Amplify environment: pass --env NAME (or run `amplify pull`)", cmd)
	}
	c, err := a.newAWSClients(ctx, pl.Region, pl.Profile)
	if err != nil {
		return nil, nil, err
	}
	if err := a.addLive(ctx, pl, c); err != nil {
		return nil, nil, err
	}
	if err := addStorageLive(ctx, pl, sp, c); err != nil {
		return nil, nil, err
	}
	return pl, sp, nil
}

// readStorage reads the project's storage with the reader of its
// generation and checks the identity fields against the plan's models.
func readStorage(pl *migration.Plan, root string, fields []string) (*storage.Plan, error) {
	var sp *storage.Plan
	var err error
	if pl.Generation == 2 {
		sp, err = storage.ReadGen2(statedir.FS(root))
	} else {
		sp, err = storage.ReadGen1(statedir.FS(root), pl.Env)
	}
	if err != nil {
		return nil, err
	}
	f, err := storage.IdentityFields(fields, storageModels(pl, false))
	var fe *storage.FieldError
	if errors.As(err, &fe) {
		return nil, usagef("%v", err)
	}
	if err != nil {
		return nil, err
	}
	sp.SetIdentityFields(f)
	return sp, nil
}

// storageModels are the plan's models as the storage checks take them;
// existing keeps only those whose table --live found.
func storageModels(pl *migration.Plan, existing bool) []storage.Model {
	found := map[string]bool{}
	if pl.Live != nil {
		for _, t := range pl.Live.Tables {
			found[t.Name] = t.Exists
		}
	}
	var out []storage.Model
	for _, api := range pl.APIs {
		for _, m := range api.Models {
			if existing && !found[m.Table] {
				continue
			}
			sm := storage.Model{Type: m.Type, Table: m.Table, Fields: m.Fields}
			for _, of := range m.OwnerFields {
				sm.OwnerFields = append(sm.OwnerFields, of.Field)
			}
			out = append(out, sm)
		}
	}
	return out
}

// addStorageLive counts the files under each per-identity path and
// samples the data's tables for identity ids no flag names.
func addStorageLive(ctx context.Context, pl *migration.Plan, sp *storage.Plan, c *awsClients) error {
	if err := explainAWS(sp.AddLive(ctx, c.s3())); err != nil {
		return err
	}
	return explainAWS(sp.CheckSampledValues(ctx, c.dynamo, storageModels(pl, true)))
}

// s3 is the S3 client; an endpoint on this machine (the test bed's S3
// server, AWS_ENDPOINT_URL_S3) is addressed path-style, since it answers
// no virtual-host bucket names.
func (c *awsClients) s3() *s3.Client {
	return s3.NewFromConfig(c.cfg, func(o *s3.Options) {
		o.UsePathStyle = o.UsePathStyle || o.BaseEndpoint != nil && loopbackURL(*o.BaseEndpoint)
		// Listing is not throttled like Cognito: a bucket S3 cannot be
		// reached for is reported soon, not after Cognito's patience.
		o.RetryMaxAttempts = 3
	})
}

// printStorage writes the storage part of a plan for people.
func printStorage(w io.Writer, sp *storage.Plan) {
	fmt.Fprintf(w, "Storage: route %s (%s)\n", sp.Route, sp.RouteReason)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	pool := sp.IdentityPool.ID
	if pool == "" {
		pool = "(unknown)"
	}
	survives := "replaced by the move"
	if sp.IdentityPool.Survives {
		survives = "kept by the move"
	}
	src := ""
	if sp.IdentityPool.Source != "" {
		src = ", from " + sp.IdentityPool.Source
	}
	fmt.Fprintf(tw, "Identity pool\t%s\t%s%s\n", pool, survives, src)
	if len(sp.Buckets) == 0 {
		fmt.Fprintf(tw, "Buckets\t(none)\t\n")
	}
	for _, b := range sp.Buckets {
		name, region := b.BucketName, b.Region
		if name == "" {
			name = "(deployed name unknown)"
		}
		if region == "" {
			region = "(unknown)"
		}
		def := ""
		if b.Default {
			def = ", default"
		}
		fmt.Fprintf(tw, "Bucket\t%s\t%s, region %s%s\n", b.Resource, name, region, def)
		for _, ip := range b.IdentityPaths {
			live := ""
			if ip.Live != nil {
				live = fmt.Sprintf("; %d identities, %d objects, %d bytes", ip.Live.Identities, ip.Live.Objects, ip.Live.Bytes)
			}
			fmt.Fprintf(tw, "  per identity\t%s\towner %s%s\n", ip.Template, strings.Join(ip.Owner, ", "), live)
		}
		for _, ac := range b.Access {
			who := ac.Who
			if ac.Group != "" {
				who += " " + ac.Group
			}
			fmt.Fprintf(tw, "  access\t%s\t%s: %s\n", ac.Path, who, strings.Join(ac.Actions, ", "))
		}
	}
	for _, f := range sp.IdentityFields {
		table := f.Table
		if table == "" {
			table = "(unknown)"
		}
		fmt.Fprintf(tw, "Identity field\t%s.%s\ttable %s\n", f.Type, f.Field, table)
	}
	tw.Flush()
	if len(sp.Warnings) > 0 {
		fmt.Fprintf(w, "\nStorage warnings (%d):\n", len(sp.Warnings))
		for _, wa := range sp.Warnings {
			fmt.Fprintf(w, "  [%s] %s\n", wa.Code, wa.Message)
		}
	}
}

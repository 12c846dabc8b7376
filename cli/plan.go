package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/migration"
	"github.com/poolmigrate/poolmigrate/storage"
)

func planCommand(a *App) command {
	return command{
		name:    "plan",
		summary: "show what a migration of the project's user pool will touch (reads only)",
		usage:   "plan [--live] [--json] [--api-id ID] [--identity-field Type.field]... [--project DIR] [--env NAME] [--region NAME] [--profile NAME]",
		setup: func(fs *pflag.FlagSet, g *globals) func(context.Context, []string) error {
			live := fs.Bool("live", false, "confirm tables, API ids and the pool's configuration with AWS; count the files under each per-identity storage path")
			var apiID string
			fs.StringVar(&apiID, "api-id", "", "Gen 2: the data's AppSync API id, when nothing else names it (env POOLMIGRATE_API_ID)")
			fields := identityFieldFlag(fs)
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("plan takes no arguments (got %q)", strings.Join(args, " "))
				}
				return a.runPlan(ctx, g, *live, apiID, *fields)
			}
		},
	}
}

func (a *App) runPlan(ctx context.Context, g *globals, live bool, apiID string, fields []string) error {
	pl, sp, err := a.planWithStorage(ctx, g, "plan", live, apiID, fields)
	if err != nil {
		return err
	}
	if g.json {
		// The storage part is added beside the plan's own fields, which
		// stay as they were.
		return writeJSON(a.Stdout, struct {
			*migration.Plan
			Storage *storage.Plan `json:"storage"`
		}{pl, sp})
	}
	printPlan(a.Stdout, pl)
	fmt.Fprintln(a.Stdout)
	printStorage(a.Stdout, sp)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func printPlan(w io.Writer, pl *migration.Plan) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	orUnknown := func(s string) string {
		if s == "" {
			return "(unknown)"
		}
		return s
	}
	env, gen := "Environment", ""
	if pl.Generation == 2 {
		env, gen = "Branch", " (Amplify Gen 2)"
	}
	fmt.Fprintf(tw, "Project\t%s\t%s%s\n", pl.ProjectName, pl.ProjectRoot, gen)
	fmt.Fprintf(tw, "%s\t%s\tregion %s, profile %s\n", env, orUnknown(pl.Env), orUnknown(pl.Region), orDefault(pl.Profile))
	for _, au := range pl.Auth {
		kind := "Cognito user pool"
		if au.Imported {
			kind = "imported user pool"
		}
		fmt.Fprintf(tw, "Auth\t%s\t%s %s\n", au.Resource, kind, orUnknown(au.UserPoolID))
	}
	for _, api := range pl.APIs {
		fmt.Fprintf(tw, "API\t%s\tid %s, transformer v%d, auth %s, default owner claim %s\n", api.Name, orUnknown(api.APIID), api.TransformerVersion, orUnknown(api.AuthResource), api.DefaultClaim)
		for _, m := range api.Models {
			fmt.Fprintf(tw, "  model %s\ttable %s\tkey %s\n", m.Type, orUnknown(m.Table), keyString(m.PrimaryKey))
			for _, of := range m.OwnerFields {
				var notes []string
				if of.List {
					notes = append(notes, "list")
				}
				if len(of.KeyOf) > 0 {
					notes = append(notes, "key of "+strings.Join(of.KeyOf, ", "))
				}
				switch {
				case of.Provider != "userPools":
					notes = append(notes, "not remapped (provider "+of.Provider+")")
				case !of.Remap && of.Claim == "email":
					notes = append(notes, "not remapped (the e-mail stays the same)")
				case !of.Remap:
					notes = append(notes, "not remapped (custom claim)")
				}
				fmt.Fprintf(tw, "    owner %s\tclaim %s\t%s\n", of.Field, of.Claim, strings.Join(notes, "; "))
			}
		}
	}
	for _, d := range pl.Dependents {
		fmt.Fprintf(tw, "Depends on auth\t%s/%s\t%s\n", d.Category, d.Resource, d.DependsOn)
	}
	tw.Flush()
	if pl.Live != nil {
		fmt.Fprintln(w, "\nLive:")
		for _, p := range pl.Live.Pools {
			fmt.Fprintf(w, "  pool %s (%s): username attributes %v, aliases %v, MFA %s, auto-verified %v, about %d users\n", p.ID, p.Name, p.UsernameAttributes, p.AliasAttributes, p.MFA, p.AutoVerifiedAttributes, p.EstimatedUsers)
		}
		for _, t := range pl.Live.Tables {
			if t.Exists {
				fmt.Fprintf(w, "  table %s: about %d items\n", t.Name, t.ItemCount)
			} else {
				fmt.Fprintf(w, "  table %s: missing\n", t.Name)
			}
		}
	}
	if len(pl.Warnings) > 0 {
		fmt.Fprintf(w, "\nWarnings (%d):\n", len(pl.Warnings))
		for _, wa := range pl.Warnings {
			fmt.Fprintf(w, "  [%s] %s\n", wa.Code, wa.Message)
		}
	}
}

func keyString(k migration.Key) string {
	if k.Sort == "" {
		return k.Partition
	}
	return k.Partition + " + " + k.Sort
}

func orDefault(s string) string {
	if s == "" {
		return "(SDK default chain)"
	}
	return s
}

package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/poolmigrate/poolmigrate/amplifyproj"
	"github.com/poolmigrate/poolmigrate/backendpatch"
	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/statedir"
)

func detachCommand(a *App) command {
	return command{
		name:    "detach",
		summary: "remove every dependency on the old auth resource so `amplify remove auth` succeeds (needs a verified backup)",
		usage:   "detach [--backup FILE] [--auth NAME] [--dry-run] | detach --undo",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			backup := fs.String("backup", "", "verified backup of the auth resource's pool (default: the newest in .poolmigrate/backups)")
			auth := fs.String("auth", "", "the auth resource to detach (default: the project's Cognito auth resource)")
			dry := fs.Bool("dry-run", false, "print the changes as a diff, write nothing")
			undo := fs.Bool("undo", false, "restore the files the last detach changed")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("detach takes no arguments")
				}
				return a.runDetach(g, *backup, *auth, *dry, *undo)
			}
		},
	}
}

func patchCommand(a *App) command {
	return command{
		name:    "patch",
		summary: "re-point the backend (APIs, functions, dependsOn, team-provider-info) at the new auth resource",
		usage:   "patch [--to NAME] [--from NAME] [--dry-run] | patch --undo",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			to := fs.String("to", "", "the new auth resource (default: the Cognito auth resource now in backend-config.json)")
			from := fs.String("from", "", "the old auth resource (default: the one `poolmigrate detach` detached)")
			dry := fs.Bool("dry-run", false, "print the changes as a diff, write nothing")
			undo := fs.Bool("undo", false, "restore the files the last patch changed")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("patch takes no arguments")
				}
				return a.runPatch(g, *from, *to, *dry, *undo)
			}
		},
	}
}

// projectState loads the project and its state folder.
func (a *App) projectState(g *globals) (*amplifyproj.Project, string, string, error) {
	p, root, err := a.loadProject(g)
	if err != nil {
		return nil, "", "", err
	}
	dir, err := statedir.Ensure(root)
	if err != nil {
		return nil, "", "", err
	}
	return p, root, dir, nil
}

func (a *App) runDetach(g *globals, backup, auth string, dry, undo bool) error {
	p, root, state, err := a.projectState(g)
	if err != nil {
		return err
	}
	if undo {
		return a.undo(root, state, "detach")
	}
	au, err := pickAuth(p, auth)
	if err != nil {
		return err
	}
	cs, rec, err := backendpatch.Detach(root, au.Name)
	if err != nil {
		return err
	}
	if cs.Empty() {
		fmt.Fprintf(a.Stdout, "Nothing depends on auth %s: `amplify remove auth` will not be blocked by dependencies.\n", au.Name)
		return nil
	}
	if dry {
		fmt.Fprint(a.Stdout, cs.Diff())
		return nil
	}
	if backup, err = verifiedBackup(state, au, backup); err != nil {
		return err
	}
	if _, err := cs.Apply(state, "detach", rec); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "Detached auth %s (backup %s is verified):\n", au.Name, backup)
	for _, e := range rec.Edges {
		fmt.Fprintf(a.Stdout, "  %s: %s/%s no longer depends on it\n", e.File, e.Category, e.Resource)
	}
	fmt.Fprintf(a.Stdout, "Next: `amplify remove auth`, then `amplify add auth` (or `amplify import auth`), then `poolmigrate patch`.\n`poolmigrate detach --undo` restores the files.\n")
	return nil
}

// verifiedBackup insists on a whole backup of the auth resource's pool
// before anything makes `amplify remove auth` possible.
func verifiedBackup(state string, au amplifyproj.AuthResource, backup string) (string, error) {
	if backup == "" {
		matches, _ := filepath.Glob(filepath.Join(state, "backups", "*.jsonl"))
		sort.Sort(sort.Reverse(sort.StringSlice(matches)))
		for _, m := range matches {
			if au.UserPoolID != "" && !strings.HasPrefix(filepath.Base(m), au.UserPoolID+"-") {
				continue
			}
			backup = m
			break
		}
		if backup == "" {
			return "", fmt.Errorf("no backup of pool %s in %s: run `poolmigrate backup` first; detach refuses without one, because `amplify push` after `amplify remove auth` deletes the pool and its users", au.UserPoolID, filepath.Join(state, "backups"))
		}
	}
	hdr, _, err := cognito.VerifyBackupFile(backup)
	if err != nil {
		return "", fmt.Errorf("the backup %s does not verify (%w): run `poolmigrate backup` again before detaching", backup, err)
	}
	if au.UserPoolID != "" && hdr.PoolID != au.UserPoolID {
		return "", fmt.Errorf("the backup %s is of pool %s, but auth %s is pool %s", backup, hdr.PoolID, au.Name, au.UserPoolID)
	}
	return backup, nil
}

func pickAuth(p *amplifyproj.Project, name string) (amplifyproj.AuthResource, error) {
	if name != "" {
		au, ok := p.AuthByName(name)
		if !ok {
			return au, fmt.Errorf("backend-config.json has no Cognito auth resource %q", name)
		}
		return au, nil
	}
	switch len(p.Auth) {
	case 1:
		return p.Auth[0], nil
	case 0:
		return amplifyproj.AuthResource{}, errors.New("the project has no Cognito auth resource")
	}
	return amplifyproj.AuthResource{}, errors.New("the project has several Cognito auth resources: pass --auth NAME")
}

func (a *App) undo(root, state, op string) error {
	files, err := backendpatch.Undo(root, state, op)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "Undid the last %s; restored:\n  %s\n", op, strings.Join(files, "\n  "))
	return nil
}

func (a *App) runPatch(g *globals, from, to string, dry, undo bool) error {
	p, root, state, err := a.projectState(g)
	if err != nil {
		return err
	}
	if undo {
		return a.undo(root, state, "patch")
	}
	rec, detached, err := backendpatch.LastDetach(state)
	if err != nil {
		return err
	}
	if from == "" {
		if !detached {
			return errors.New("no detach recorded in .poolmigrate: pass --from NAME (the old auth resource)")
		}
		from = rec.Auth
	}
	if to == "" {
		var names []string
		for _, au := range p.Auth {
			if au.Name != from {
				names = append(names, au.Name)
			}
		}
		switch len(names) {
		case 1:
			to = names[0]
		case 0:
			return fmt.Errorf("backend-config.json has no Cognito auth resource besides %s: run `amplify remove auth` and `amplify add auth` (or `amplify import auth`) first, or pass --to NAME", from)
		default:
			return fmt.Errorf("backend-config.json has several new Cognito auth resources (%s): pass --to NAME", strings.Join(names, ", "))
		}
	}
	au, ok := p.AuthByName(to)
	if !ok {
		return fmt.Errorf("backend-config.json has no Cognito auth resource %q", to)
	}
	cs, err := backendpatch.Patch(root, backendpatch.PatchOptions{From: from, To: to, Edges: rec.Edges, NewImported: au.Imported, NewPoolID: au.UserPoolID})
	if err != nil {
		return err
	}
	if cs.Empty() {
		fmt.Fprintf(a.Stdout, "Nothing to patch: the backend already points at auth %s.\n", to)
	} else if dry {
		fmt.Fprint(a.Stdout, cs.Diff())
	} else {
		if _, err := cs.Apply(state, "patch", map[string]string{"from": from, "to": to}); err != nil {
			return err
		}
		fmt.Fprintf(a.Stdout, "Re-pointed the backend from auth %s to auth %s:\n  %s\n", from, to, strings.Join(cs.Paths(), "\n  "))
		fmt.Fprintln(a.Stdout, "Next: `amplify push`. `poolmigrate patch --undo` restores the files.")
	}
	for _, n := range cs.Notes {
		fmt.Fprintln(a.Stdout, "note:", n)
	}
	return nil
}

package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command groups of `poolmigrate help`, listed in this order.
const (
	groupSteps       = "steps"
	groupKeep        = "keep-passwords"
	groupMaintenance = "maintenance"
)

// commandGroups places the commands that set no group of their own and are
// not migration steps.
var commandGroups = map[string]string{
	"trigger":         groupKeep,
	"retain-pool":     groupKeep,
	"sync":            groupKeep,
	"retire-old-pool": groupKeep,
}

func init() {
	// Commands are listed in the order of the flow, not by name.
	cobra.EnableCommandSorting = false
	cobra.AddTemplateFunc("usageLines", usageLines)
}

// usageTemplate is cobra's default with each usage form on a line of its
// own and no "[command]" line for the root, which takes no flags of its own
// in front of a command.
const usageTemplate = `Usage:{{range usageLines .}}
  {{.}}{{end}}{{if .HasAvailableSubCommands}}{{$cmds := .Commands}}{{if eq (len .Groups) 0}}

Available Commands:{{range $cmds}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{else}}{{range $group := .Groups}}

{{.Title}}{{range $cmds}}{{if (and (eq .GroupID $group.ID) (or .IsAvailableCommand (eq .Name "help")))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if not .AllChildCommandsHaveGroup}}

Additional Commands:{{range $cmds}}{{if (and (eq .GroupID "") (or .IsAvailableCommand (eq .Name "help")))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Global Flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Run "{{.CommandPath}} help <command>" (or "{{.CommandPath}} <command> --help") for a command's flags.{{end}}
`

// rootCommand builds the command tree for one run of args: every command
// of a.commands() under the root, with the global flags on the root.
func (a *App) rootCommand(args []string) *cobra.Command {
	g := &globals{}
	var version bool
	root := &cobra.Command{
		Use:   "poolmigrate <command> [flags]",
		Short: "poolmigrate moves an Amplify app (Gen 1 or Gen 2) to a new Cognito user pool without losing users or their data.",
		Long: "poolmigrate moves an Amplify app (Gen 1 or Gen 2) to a new Cognito user pool without losing users or their data.\n\n" +
			"Each global flag is taken from, in order: the flag, its POOLMIGRATE_<NAME> environment variable\n" +
			"(e.g. POOLMIGRATE_ENV), the Amplify project files, the default.",
		SilenceErrors:              true,
		SilenceUsage:               true,
		DisableFlagsInUseLine:      true,
		SuggestionsMinimumDistance: 2,
		Args: func(c *cobra.Command, pos []string) error {
			if len(pos) > 0 {
				return unknownCommand(c, pos[0])
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
			if version {
				v, _, err := c.Find([]string{"version"})
				if err != nil {
					return err
				}
				return v.RunE(v, nil)
			}
			return c.Help()
		},
	}
	root.SetIn(a.Stdin)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	root.SetUsageTemplate(usageTemplate)
	root.Flags().BoolVarP(&version, "version", "v", false, "print poolmigrate's version (the version command)")
	g.register(root.PersistentFlags())
	root.AddGroup(
		&cobra.Group{ID: groupSteps, Title: "Migration steps:"},
		&cobra.Group{ID: groupKeep, Title: "Keeping passwords (the user migration trigger):"},
		&cobra.Group{ID: groupMaintenance, Title: "Maintenance:"},
	)
	for _, c := range a.commands() {
		cmd := a.cobraCommand(c, g, root)
		cmd.GroupID = c.groupID()
		root.AddCommand(cmd)
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if c == root && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			// `poolmigrate bakup --pool X`: the command is what is wrong.
			return unknownCommand(root, args[0])
		}
		return flagError(c, err)
	})
	root.SetHelpCommandGroupID(groupMaintenance)
	root.SetCompletionCommandGroupID(groupMaintenance)
	adaptBuiltins(root, args)
	return root
}

// cobraCommand is c as a cobra command, with its subcommands (a command
// with subcommands runs none of its own: alone it shows its help, with an
// unknown subcommand it is a usage error).
func (a *App) cobraCommand(c command, g *globals, root *cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   c.usage,
		Short:                 c.summary,
		DisableFlagsInUseLine: true,
	}
	if len(c.subcommands) > 0 {
		for _, sub := range c.subcommands {
			cmd.AddCommand(a.cobraCommand(sub, g, root))
		}
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(cc *cobra.Command, pos []string) error {
			if len(pos) > 0 && pos[0] == "help" {
				// `poolmigrate storage help plan`, as the help says.
				sub, rest, err := cc.Find(pos[1:])
				if err != nil || len(rest) > 0 {
					return usagef("unknown %s command %q; run `poolmigrate help %s` for the list", c.name, strings.Join(pos[1:], " "), c.name)
				}
				sub.InitDefaultHelpFlag()
				return sub.Help()
			}
			if len(pos) > 0 {
				return usagef("unknown %s command %q; run `poolmigrate help %s` for the list", c.name, pos[0], c.name)
			}
			return cc.Help()
		}
		return cmd
	}
	run := c.setup(cmd.Flags(), g)
	cmd.RunE = func(cc *cobra.Command, pos []string) error {
		g.fromEnv(a.Getenv, root.PersistentFlags())
		return run(cc.Context(), pos)
	}
	return cmd
}

// adaptBuiltins creates cobra's help and completion commands now rather
// than when the root runs, and makes their mistakes usage errors: cobra's
// help shows the root's help for an unknown command and exits 0, and its
// completion does the same for an unknown shell.
func adaptBuiltins(root *cobra.Command, args []string) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd(args...)
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Short = "show a command's usage and flags"
			c.RunE = func(_ *cobra.Command, topic []string) error {
				cmd, _, err := root.Find(topic)
				if err != nil {
					return err
				}
				if cmd == root && len(topic) > 0 {
					return unknownCommand(root, topic[0])
				}
				cmd.InitDefaultHelpFlag()
				return cmd.Help()
			}
		case "completion":
			c.Short = "print the shell completion script: completion bash|zsh|fish|powershell"
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(c *cobra.Command, pos []string) error {
				if len(pos) > 0 {
					return usagef("completion: unknown shell %q; run `poolmigrate completion bash|zsh|fish|powershell`", pos[0])
				}
				return c.Help()
			}
		}
	}
}

// groupID is the command's group in `poolmigrate help`: its own, else the
// one commandGroups gives it, else the migration steps.
func (c command) groupID() string {
	if c.group != "" {
		return c.group
	}
	if g, ok := commandGroups[c.name]; ok {
		return g
	}
	return groupSteps
}

// unknownCommand is the usage error for a command that does not exist,
// with the commands whose names are close (cobra's suggestions).
func unknownCommand(root *cobra.Command, name string) error {
	hint := ""
	if s := root.SuggestionsFor(name); len(s) > 0 {
		hint = " (did you mean " + orList(s) + "?)"
	}
	return usagef("unknown command %q%s; run `poolmigrate help` for the list", name, hint)
}

// flagError makes a flag the command does not take a usage error, and says
// what was probably meant: Go's single-dash form of a long flag, or a flag
// whose name is close.
func flagError(c *cobra.Command, err error) error {
	what := c.Name() + ": "
	if !c.HasParent() {
		what = ""
	}
	var ne *pflag.NotExistError
	if errors.As(err, &ne) {
		if short := ne.GetSpecifiedShortnames(); len(short) > 1 {
			name, _, _ := strings.Cut(short, "=")
			if c.Flags().Lookup(name) != nil {
				return usagef("%s%v (flags take two dashes: --%s)", what, err, short)
			}
		} else if s := flagSuggestions(c.Flags(), ne.GetSpecifiedName()); len(s) > 0 {
			return usagef("%s%v (did you mean %s?)", what, err, orList(s))
		}
	}
	return usagef("%s%v", what, err)
}

// flagSuggestions are the flags of fs whose names are close to typed, by
// cobra's own measure for command names.
func flagSuggestions(fs *pflag.FlagSet, typed string) []string {
	names := &cobra.Command{SuggestionsMinimumDistance: 2}
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names.AddCommand(&cobra.Command{Use: f.Name, Run: func(*cobra.Command, []string) {}})
		}
	})
	s := names.SuggestionsFor(typed)
	for i := range s {
		s[i] = "--" + s[i]
	}
	return s
}

func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// usageLines are the usage forms of a command, one a line: a command's
// usage string may hold several ("backup [--pool ID] | backup verify FILE");
// a " | " starts a new form when the command's name follows it.
func usageLines(c *cobra.Command) []string {
	var forms []string
	if c.Runnable() {
		for _, part := range strings.Split(c.UseLine(), " | ") {
			part = strings.TrimSpace(part)
			switch {
			case len(forms) == 0:
				forms = append(forms, part)
			case c.HasParent() && (part == c.Name() || strings.HasPrefix(part, c.Name()+" ")):
				forms = append(forms, c.Parent().CommandPath()+" "+part)
			default:
				forms[len(forms)-1] += " | " + part
			}
		}
	}
	if c.HasAvailableSubCommands() && c.HasParent() {
		forms = append(forms, fmt.Sprintf("%s [command]", c.CommandPath()))
	}
	return forms
}

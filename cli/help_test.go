package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// TestHelpGolden pins the help of poolmigrate and of every command (run
// with -update after checking a change), and checks that `help CMD`,
// `CMD --help` and `CMD -h` print the same, on stdout.
func TestHelpGolden(t *testing.T) {
	out, stderr, err := runApp(t, ".", nil, "help")
	if err != nil || stderr != "" {
		t.Fatalf("help: %v %s", err, stderr)
	}
	testenv.Golden(t, filepath.Join("testdata", "golden", "help.txt"), out, *update)
	for _, args := range [][]string{nil, {"--help"}, {"-h"}} {
		if got, _, err := runApp(t, ".", nil, args...); err != nil || got != out {
			t.Errorf("poolmigrate %s: %v, want the same as poolmigrate help:\n%s", strings.Join(args, " "), err, got)
		}
	}
	for _, c := range (&App{}).commands() {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, err := runApp(t, ".", nil, "help", c.name)
			if err != nil || stderr != "" {
				t.Fatalf("help %s: %v %s", c.name, err, stderr)
			}
			testenv.Golden(t, filepath.Join("testdata", "golden", "help-"+c.name+".txt"), out, *update)
			for _, flag := range []string{"--help", "-h"} {
				if got, _, err := runApp(t, ".", nil, c.name, flag); err != nil || got != out {
					t.Errorf("%s %s: %v, want the same as help %s:\n%s", c.name, flag, err, c.name, got)
				}
			}
		})
	}
}

// TestHelpListsEveryFlagWithTwoDashes: what the README writes (--dry-run)
// is what help shows, and the command list keeps its column however long
// a command's name.
func TestHelpListsEveryFlagWithTwoDashes(t *testing.T) {
	root := (&App{}).rootCommand(nil)
	for _, c := range root.Commands() {
		help, _, err := runApp(t, ".", nil, c.Name(), "--help")
		if err != nil {
			t.Fatalf("%s --help: %v", c.Name(), err)
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if !regexp.MustCompile(`(?m)^ .*--` + regexp.QuoteMeta(f.Name) + `\b`).MatchString(help) {
				t.Errorf("%s --help does not list --%s:\n%s", c.Name(), f.Name, help)
			}
		})
		if regexp.MustCompile(`(?m)^\s+-[a-z][a-z-]+\s`).MatchString(help) {
			t.Errorf("%s --help shows a long flag with one dash:\n%s", c.Name(), help)
		}
	}
	out, _, _ := runApp(t, ".", nil, "help")
	list, _, _ := strings.Cut(out, "\nFlags:")
	_, list, _ = strings.Cut(list, "Migration steps:")
	col, names := -1, 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.HasPrefix(line, "  ") {
			continue // a group's title
		}
		name, rest, _ := strings.Cut(strings.TrimPrefix(line, "  "), " ")
		// The summary starts in the same column on every command's line.
		at := len(line) - len(strings.TrimLeft(rest, " "))
		if col == -1 {
			col = at
		}
		if at != col || at < len("  retire-old-pool ") {
			t.Errorf("command list: %q starts its summary at column %d, the first at %d", name, at, col)
		}
		names++
	}
	if names < len((&App{}).commands()) {
		t.Fatalf("%d commands in the list of help:\n%s", names, out)
	}
}

// TestFlagsWalk checks every flag of every command: usage text, two
// dashes (no one-letter names, no text telling users to type -flag), and
// an argument name in help that is the flag's type or an UPPERCASE word.
func TestFlagsWalk(t *testing.T) {
	root := (&App{}).rootCommand(nil)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, p := range flagProblems(c) {
			t.Error(p)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if len(root.Commands()) < len((&App{}).commands()) {
		t.Fatalf("the walk saw %d commands", len(root.Commands()))
	}
}

// TestFlagsWalkFindsMistakes proves the walk can fail: each planted
// mistake is reported.
func TestFlagsWalkFindsMistakes(t *testing.T) {
	c := &cobra.Command{Use: "bad", Short: "run it with -dry-run", Run: func(*cobra.Command, []string) {}}
	c.Flags().Bool("dry-run", false, "say what would change")
	c.Flags().String("backup", "", "backup file written by `poolmigrate backup`")
	c.Flags().String("out", "", "")
	c.Flags().String("x", "", "one letter")
	c.Flags().BoolP("quiet", "q", false, "say less")
	got := strings.Join(flagProblems(c), "\n")
	for _, want := range []string{
		`bad: mentions -dry-run`,
		`bad --backup: help names its argument "poolmigrate backup"`,
		`bad --out: no usage text`,
		`bad --x: a one-letter name`,
		`bad --quiet: a shorthand -q`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the walk missed %q; it found:\n%s", want, got)
		}
	}
}

var (
	uppercaseArg  = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	singleDashArg = regexp.MustCompile("(?:^|[\\s(\\[|,'\"`])-([a-z][a-z0-9-]+)")
)

// flagProblems lists what is wrong with the flags of c (not of its
// subcommands).
func flagProblems(c *cobra.Command) []string {
	var probs []string
	known := map[string]bool{}
	texts := []string{c.Use, c.Short, c.Long}
	check := func(f *pflag.Flag) {
		known[f.Name] = true
		texts = append(texts, f.Usage)
		where := c.CommandPath() + " --" + f.Name
		if strings.TrimSpace(f.Usage) == "" {
			probs = append(probs, where+": no usage text")
		}
		if len(f.Name) < 2 {
			probs = append(probs, where+": a one-letter name (pflag makes it --"+f.Name+"; users would type -"+f.Name+")")
		}
		if f.Shorthand != "" && f.Name != "help" && f.Name != "version" {
			probs = append(probs, where+": a shorthand -"+f.Shorthand+" (only -h and -v have one)")
		}
		if name, _ := pflag.UnquoteUsage(f); strings.Count(f.Usage, "`") >= 2 && !uppercaseArg.MatchString(name) {
			probs = append(probs, fmt.Sprintf("%s: help names its argument %q: a back-quoted word in a usage string becomes the argument's name; write the words without back-quotes, or back-quote an UPPERCASE name", where, name))
		}
	}
	c.LocalFlags().VisitAll(check)
	c.InheritedFlags().VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
	for _, text := range texts {
		for _, m := range singleDashArg.FindAllStringSubmatch(text, -1) {
			if known[m[1]] {
				probs = append(probs, fmt.Sprintf("%s: mentions -%s with one dash (pflag takes --%s): %q", c.CommandPath(), m[1], m[1], text))
			}
		}
	}
	return probs
}

// TestTypoSuggestions: a mistyped command or flag is a usage error (exit
// 2) that names what was probably meant.
func TestTypoSuggestions(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string
	}{
		"command":                {args: []string{"bakup"}, want: `unknown command "bakup" (did you mean backup?)`},
		"long command, cut":      {args: []string{"retire"}, want: `(did you mean retire-old-pool?)`},
		"command with its flags": {args: []string{"remapp", "--backup", "b.jsonl", "--dry-run"}, want: `unknown command "remapp" (did you mean remap?)`},
		"help for a typo":        {args: []string{"help", "pacth"}, want: `unknown command "pacth" (did you mean patch?)`},
		"nothing close":          {args: []string{"xyzzy"}, want: `unknown command "xyzzy"; run ` + "`poolmigrate help`"},
		"flag":                   {args: []string{"patch", "--dryrun"}, want: `patch: unknown flag: --dryrun (did you mean --dry-run?)`},
		"go's single dash":       {args: []string{"plan", "-json"}, want: `(flags take two dashes: --json)`},
		"single dash with value": {args: []string{"backup", "-rps=5"}, want: `(flags take two dashes: --rps=5)`},
		"unknown shell":          {args: []string{"completion", "tcsh"}, want: `unknown shell "tcsh"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := runApp(t, ".", nil, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s: error %v, want one containing %q", strings.Join(tc.args, " "), err, tc.want)
			}
			if c := ExitCode(err); c != 2 {
				t.Errorf("exit code %d, want 2", c)
			}
		})
	}
}

// TestExitCodes: the exit code of each kind of outcome, as main maps it.
func TestExitCodes(t *testing.T) {
	runs := map[string]struct {
		args []string
		code int
	}{
		"no arguments":          {nil, 0},
		"help":                  {[]string{"help"}, 0},
		"help for a command":    {[]string{"help", "patch"}, 0},
		"--help":                {[]string{"--help"}, 0},
		"command --help":        {[]string{"remap", "--help"}, 0},
		"--version":             {[]string{"--version"}, 0},
		"-v":                    {[]string{"-v"}, 0},
		"version --json":        {[]string{"version", "--json"}, 0},
		"completion":            {[]string{"completion", "zsh"}, 0},
		"unknown command":       {[]string{"bogus"}, 2},
		"help for no command":   {[]string{"help", "bogus"}, 2},
		"unknown flag":          {[]string{"plan", "--bogus"}, 2},
		"unknown root flag":     {[]string{"--bogus"}, 2},
		"flag without value":    {[]string{"backup", "--rps"}, 2},
		"flag with a bad value": {[]string{"backup", "--rps", "fast"}, 2},
		"stray argument":        {[]string{"rollback", "extra"}, 2},
		"missing argument":      {[]string{"backup", "verify"}, 2},
		"command's own check":   {[]string{"trigger", "launch"}, 2},
		"failure":               {[]string{"backup", "verify", "no-such-backup.jsonl"}, 1},
	}
	for name, tc := range runs {
		t.Run(name, func(t *testing.T) {
			_, _, err := runApp(t, t.TempDir(), nil, tc.args...)
			if c := ExitCode(err); c != tc.code {
				t.Errorf("poolmigrate %s: exit %d (%v), want %d", strings.Join(tc.args, " "), c, err, tc.code)
			}
		})
	}
	errs := map[string]struct {
		err  error
		code int
	}{
		"nil":                  {nil, 0},
		"usage":                {usagef("bad"), 2},
		"wrapped usage":        {fmt.Errorf("step: %w", usagef("bad")), 2},
		"help requested":       {pflag.ErrHelp, 2},
		"interrupted":          {fmt.Errorf("list users: %w", context.Canceled), 130},
		"chooses its code":     {notReady{"not yet"}, 1},
		"an ExitCoder wins":    {fmt.Errorf("%w: %w", notReady{"x"}, context.Canceled), 1},
		"any other failure":    {errors.New("boom"), 1},
		"deadline, not Ctrl-C": {context.DeadlineExceeded, 1},
	}
	for name, tc := range errs {
		if c := ExitCode(tc.err); c != tc.code {
			t.Errorf("%s: ExitCode(%v) = %d, want %d", name, tc.err, c, tc.code)
		}
	}
}

// TestCommandsGetTheContext: Ctrl-C (a cancelled context) reaches the
// command through cobra and exits 130.
func TestCommandsGetTheContext(t *testing.T) {
	testenv.Require(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	app := &App{Stdin: strings.NewReader(""), Stdout: &strings.Builder{}, Stderr: &strings.Builder{}, Getenv: os.Getenv, Getwd: os.Getwd}
	err := app.Run(ctx, []string{"backup", "--pool", "us-east-1_cancelled", "--region", "us-east-1", "--out", filepath.Join(t.TempDir(), "b.jsonl")})
	if !errors.Is(err, context.Canceled) || ExitCode(err) != 130 {
		t.Fatalf("backup with a cancelled context: %v (exit %d), want context.Canceled, exit 130", err, ExitCode(err))
	}
}

// TestEnvDefaults: each global flag's POOLMIGRATE_* variable is its
// default, the flag wins over it, and the flag may come before the
// command or take its value after "=".
func TestEnvDefaults(t *testing.T) {
	project := "testdata/projects/legacy-v1"
	cases := map[string]struct {
		dir  string
		env  map[string]string
		args []string
		want planJSON
	}{
		"project files": {dir: "../" + project, want: planJSON{ProjectName: "shop", Env: "prod", Region: "eu-central-1"}},
		"POOLMIGRATE_PROJECT": {
			dir: "..", env: map[string]string{"POOLMIGRATE_PROJECT": project},
			want: planJSON{ProjectName: "shop", Env: "prod", Region: "eu-central-1"},
		},
		"--project beats POOLMIGRATE_PROJECT": {
			dir: "..", env: map[string]string{"POOLMIGRATE_PROJECT": "examples/notes-app"}, args: []string{"--project", project},
			want: planJSON{ProjectName: "shop", Env: "prod", Region: "eu-central-1"},
		},
		"POOLMIGRATE_ENV, _REGION, _PROFILE": {
			dir: "../" + project, env: map[string]string{"POOLMIGRATE_ENV": "staging", "POOLMIGRATE_REGION": "ap-south-1", "POOLMIGRATE_PROFILE": "ops"},
			want: planJSON{ProjectName: "shop", Env: "staging", Region: "ap-south-1", Profile: "ops"},
		},
		"flags beat them": {
			dir: "../" + project, env: map[string]string{"POOLMIGRATE_ENV": "staging", "POOLMIGRATE_REGION": "ap-south-1", "POOLMIGRATE_PROFILE": "ops"},
			args: []string{"--env", "prod", "--region=us-west-2", "--profile", "dev"},
			want: planJSON{ProjectName: "shop", Env: "prod", Region: "us-west-2", Profile: "dev"},
		},
		"a flag set to the default still wins": {
			dir: "../" + project, env: map[string]string{"POOLMIGRATE_ENV": "staging"}, args: []string{"--env=prod"},
			want: planJSON{ProjectName: "shop", Env: "prod", Region: "eu-central-1"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for _, args := range [][]string{
				append([]string{"plan", "--json"}, tc.args...),
				append(append([]string{}, tc.args...), "plan", "--json"), // globals before the command
			} {
				out, stderr, err := runApp(t, tc.dir, tc.env, args...)
				if err != nil {
					t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, stderr)
				}
				p := decodePlan(t, out)
				got := planJSON{ProjectName: p.ProjectName, Env: p.Env, Region: p.Region, Profile: p.Profile}
				if got.ProjectName != tc.want.ProjectName || got.Env != tc.want.Env || got.Region != tc.want.Region || got.Profile != tc.want.Profile {
					t.Errorf("%s: got %+v, want %+v", strings.Join(args, " "), got, tc.want)
				}
			}
		})
	}
}

// TestArgumentsAroundFlags: flags after positional arguments, and "--"
// ending the flags.
func TestArgumentsAroundFlags(t *testing.T) {
	for _, args := range [][]string{
		{"backup", "verify", "missing.jsonl", "--json"},
		{"backup", "--json", "verify", "missing.jsonl"},
		{"backup", "verify", "--", "missing.jsonl"},
	} {
		_, _, err := runApp(t, t.TempDir(), nil, args...)
		if err == nil || ExitCode(err) != 1 || !strings.Contains(err.Error(), "missing.jsonl") {
			t.Errorf("%s: %v, want the backup file's error", strings.Join(args, " "), err)
		}
	}
	// After "--" a word like a flag is an argument.
	_, _, err := runApp(t, t.TempDir(), nil, "backup", "verify", "--", "--json")
	if err == nil || !strings.Contains(err.Error(), "--json") || ExitCode(err) != 1 {
		t.Errorf("backup verify -- --json: %v, want the file --json not found", err)
	}
}

// TestCompletionScripts: each shell's script is generated, and the
// completion it asks poolmigrate for names commands and flags.
func TestCompletionScripts(t *testing.T) {
	marks := map[string]string{
		"bash":       "__start_poolmigrate",
		"zsh":        "#compdef poolmigrate",
		"fish":       "complete -c poolmigrate",
		"powershell": "Register-ArgumentCompleter",
	}
	for shell, mark := range marks {
		out, _, err := runApp(t, ".", nil, "completion", shell)
		if err != nil || !strings.Contains(out, mark) {
			t.Errorf("completion %s: %v; the script lacks %q", shell, err, mark)
		}
	}
	if out, _, err := runApp(t, ".", nil, "completion", "--help"); err != nil || !regexp.MustCompile(`Available Commands:\n  bash `).MatchString(out) {
		t.Errorf("completion --help: %v; the shells are not listed:\n%s", err, out)
	}
	for words, want := range map[string][]string{
		"retire":                  {"retire-old-pool"},
		"re":                      {"remap", "retain-pool", "retire-old-pool"},
		"patch --d":               {"--dry-run"},
		"backup verify FILE --js": {"--json"},
		"completion ":             {"bash", "fish", "powershell", "zsh"},
	} {
		args := append([]string{"__complete"}, strings.Split(words, " ")...)
		out, _, err := runApp(t, ".", nil, args...)
		if err != nil {
			t.Fatalf("__complete %s: %v", words, err)
		}
		for _, w := range want {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(w) + `(\t|$)`).MatchString(out) {
				t.Errorf("completing %q: %q missing from\n%s", words, w, out)
			}
		}
	}
}

// TestBashCompletion runs bash's completion as a user's shell does: the
// script from `poolmigrate completion bash` calling the built binary.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		testenv.Skip(t, "no bash on PATH")
	}
	// cobra's bash script needs the bash-completion package, as a user's
	// shell has it.
	const bashCompletion = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(bashCompletion); err != nil {
		testenv.Skip(t, "bash-completion is not installed (apt-get install bash-completion; scripts/test.sh installs it)")
	}
	bin := buildBinary(t)
	for line, want := range map[string]string{
		"poolmigrate retire":         "retire-old-pool",
		"poolmigrate patch --dry":    "--dry-run",
		"poolmigrate remap --target": "--target-pool",
	} {
		script := `source ` + bashCompletion + ` && source <(poolmigrate completion bash) && COMP_LINE="$1" && COMP_POINT=${#COMP_LINE} && read -ra COMP_WORDS <<<"$1" && COMP_CWORD=$((${#COMP_WORDS[@]}-1)) && __start_poolmigrate && printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command(bash, "-c", script, "bash", line)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
		// Outside an interactive shell compopt complains on stderr; what
		// the shell would offer is COMPREPLY, on stdout.
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("bash completion of %q: %v, got %q, want %q\n%s", line, err, out, want, stderr.String())
		}
	}
}

// TestREADMEFlagsExist: every flag the README and the guides in docs/
// show with a command (their command lines and `command --flag` spans) is
// a flag of that command, as help spells it.
func TestREADMEFlagsExist(t *testing.T) {
	docs := []string{"../README.md"}
	guides, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, guides...)
	root := (&App{}).rootCommand(nil)
	checked := 0
	for _, doc := range docs {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		checked += checkDocFlags(t, root, strings.TrimPrefix(doc, "../"), string(text))
	}
	if checked < 40 {
		t.Fatalf("only %d flags of the README and docs/ checked", checked)
	}
}

// checkDocFlags checks the flags one document names and returns how many.
func checkDocFlags(t *testing.T, root *cobra.Command, doc, text string) int {
	t.Helper()
	var uses []string
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, "poolmigrate "); ok {
			uses = append(uses, rest)
		}
	}
	for _, m := range regexp.MustCompile("`(?:poolmigrate )?([a-z][a-z-]*) [^`]*`").FindAllStringSubmatch(text, -1) {
		uses = append(uses, strings.Trim(m[0], "`"))
	}
	checked := 0
	for _, use := range uses {
		use = strings.TrimPrefix(use, "poolmigrate ")
		name, _, _ := strings.Cut(use, " ")
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd == root {
			continue // an Amplify CLI or shell command
		}
		// A subcommand's flags are its own (`storage link --backup`).
		for _, w := range strings.Fields(use)[1:] {
			sub, _, err := cmd.Find([]string{w})
			if err != nil || sub == cmd || strings.HasPrefix(w, "-") {
				break
			}
			cmd, name = sub, name+" "+w
		}
		for _, m := range regexp.MustCompile(`(?:^|[\s\[(])--([a-z][a-z-]*)`).FindAllStringSubmatch(use, -1) {
			if cmd.Flags().Lookup(m[1]) == nil && root.PersistentFlags().Lookup(m[1]) == nil {
				t.Errorf("%s: %q: %s has no flag --%s", doc, use, name, m[1])
			}
			checked++
		}
		for _, m := range regexp.MustCompile(`(?:^|[\s\[(])-([a-z][a-z-]+)`).FindAllStringSubmatch(use, -1) {
			if cmd.Flags().Lookup(m[1]) != nil || root.PersistentFlags().Lookup(m[1]) != nil {
				t.Errorf("%s: %q: -%s takes two dashes", doc, use, m[1])
			}
		}
	}
	return checked
}

package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// docBlocks returns the fenced code blocks of a Markdown file in the
// given language.
func docBlocks(t *testing.T, path, lang string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?ms)^```" + lang + "\n(.*?)^```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		out = append(out, m[1])
	}
	return out
}

// remapArgs parses args as the remap command does (its own flags and the
// global ones), checks that worker k of M, told k by the engine's
// variable, takes share k/M, and returns the flags.
func remapArgs(t *testing.T, args []string, indexVar string) *remapFlags {
	t.Helper()
	if len(args) == 0 || args[0] != "remap" {
		t.Fatalf("the worker does not run remap: %q", args)
	}
	fs := pflag.NewFlagSet("remap", pflag.ContinueOnError)
	g := &globals{}
	remapCommand(&App{}).setup(fs, g)
	g.register(fs)
	if err := fs.Parse(args[1:]); err != nil {
		t.Fatalf("the worker's remap does not parse: %v (%q)", err, args)
	}
	if !g.yes {
		t.Errorf("a worker has no terminal to confirm on: it needs --yes (%q)", args)
	}
	f := &remapFlags{}
	f.backup, _ = fs.GetString("backup")
	f.target, _ = fs.GetString("target-pool")
	f.segments, _ = fs.GetInt("segments")
	f.worker, _ = fs.GetString("worker")
	f.journalDir, _ = fs.GetString("journal-dir")
	workers, err := strconv.Atoi(strings.TrimPrefix(f.worker, "auto/"))
	if !strings.HasPrefix(f.worker, "auto/") || err != nil {
		t.Fatalf("the workers are not told --worker auto/M: %q", f.worker)
	}
	for k := 0; k < workers; k++ {
		w := *f
		if err := w.validate(nil, func(v string) string {
			if v == indexVar {
				return strconv.Itoa(k)
			}
			return ""
		}); err != nil || w.share.Worker != k || w.share.Of != workers {
			t.Errorf("worker with %s=%d: %v (share %v)", indexVar, k, err, w.share)
		}
		if k == 0 {
			f.share = w.share
		}
	}
	if f.journalDir == "" {
		t.Error("the workers journal into their own containers: no --journal-dir")
	}
	return f
}

func under(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && !strings.HasPrefix(rel, "..")
}

// afterBinary returns what follows the last "poolmigrate" of a command
// line.
func afterBinary(cmd []string) []string {
	for i := len(cmd) - 1; i >= 0; i-- {
		if cmd[i] == "poolmigrate" {
			return cmd[i+1:]
		}
	}
	return nil
}

// The Kubernetes Indexed Job of docs/scale.md is one kubectl applies and
// runs the remap the tool reads: M pods indexed 0 … M-1 (what sets
// JOB_COMPLETION_INDEX), --worker auto/M, the journal folder, backup and
// project on the shared claim, and credentials from a service account.
func TestScaleDocKubernetesJob(t *testing.T) {
	blocks := docBlocks(t, "../docs/scale.md", "yaml")
	if len(blocks) != 1 {
		t.Fatalf("docs/scale.md has %d YAML blocks, want the one manifest", len(blocks))
	}
	type container struct {
		Command, Args []string
		WorkingDir    string `json:"workingDir"`
		Env           []struct{ Name, Value string }
		VolumeMounts  []struct {
			Name      string
			MountPath string `json:"mountPath"`
		} `json:"volumeMounts"`
	}
	type doc struct {
		APIVersion string `json:"apiVersion"`
		Kind       string
		Metadata   struct {
			Name        string
			Annotations map[string]string
		}
		Spec struct {
			AccessModes    []string `json:"accessModes"`
			CompletionMode string   `json:"completionMode"`
			Completions    *int
			Parallelism    *int
			Template       struct {
				Spec struct {
					ServiceAccountName string `json:"serviceAccountName"`
					RestartPolicy      string `json:"restartPolicy"`
					Containers         []container
					Volumes            []struct {
						Name                  string
						PersistentVolumeClaim struct {
							ClaimName string `json:"claimName"`
						} `json:"persistentVolumeClaim"`
					}
				}
			}
		}
	}
	byKind := map[string]doc{}
	for _, part := range regexp.MustCompile(`(?m)^---\n`).Split(blocks[0], -1) {
		var d doc
		if err := yaml.Unmarshal([]byte(part), &d); err != nil {
			t.Fatalf("manifest part does not parse: %v\n%s", err, part)
		}
		byKind[d.Kind] = d
	}
	job, sa, pvc := byKind["Job"], byKind["ServiceAccount"], byKind["PersistentVolumeClaim"]
	if job.APIVersion != "batch/v1" || job.Spec.CompletionMode != "Indexed" || job.Spec.Completions == nil || job.Spec.Parallelism == nil {
		t.Fatalf("not an Indexed Job (what sets JOB_COMPLETION_INDEX): %+v", job)
	}
	spec := job.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(spec.Containers))
	}
	c := spec.Containers[0]
	f := remapArgs(t, append(afterBinary(c.Command), c.Args...), "JOB_COMPLETION_INDEX")
	if m, _ := strconv.Atoi(strings.TrimPrefix(f.worker, "auto/")); m != *job.Spec.Completions || m != *job.Spec.Parallelism || f.segments < m {
		t.Errorf("completions %d, parallelism %d, --segments %d, --worker %s: all M workers at once, each with segments", *job.Spec.Completions, *job.Spec.Parallelism, f.segments, f.worker)
	}
	if sa.Metadata.Name == "" || spec.ServiceAccountName != sa.Metadata.Name || !strings.HasPrefix(sa.Metadata.Annotations["eks.amazonaws.com/role-arn"], "arn:aws:iam::") {
		t.Errorf("the pods' credentials: service account %q, manifest's %+v", spec.ServiceAccountName, sa.Metadata)
	}
	if !slices.ContainsFunc(c.Env, func(e struct{ Name, Value string }) bool { return e.Name == "AWS_REGION" && e.Value != "" }) {
		t.Error("no AWS_REGION for the pods")
	}
	shared := ""
	for _, vm := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name == vm.Name && v.PersistentVolumeClaim.ClaimName == pvc.Metadata.Name && slices.Contains(pvc.Spec.AccessModes, "ReadWriteMany") {
				shared = vm.MountPath
			}
		}
	}
	if shared == "" {
		t.Fatal("no ReadWriteMany claim mounted in the pods")
	}
	for what, p := range map[string]string{"--journal-dir": f.journalDir, "--backup": f.backup, "the project (workingDir)": c.WorkingDir} {
		if !under(p, shared) {
			t.Errorf("%s %q is not on the shared volume %s", what, p, shared)
		}
	}
}

// The AWS Batch job definition and array submission of docs/scale.md are
// the JSON the AWS CLI takes, and run the remap the tool reads: an array
// of M children (what sets AWS_BATCH_JOB_ARRAY_INDEX), --worker auto/M,
// the journal folder, backup and project on the EFS volume, a job role.
// The IAM policy allows every call a worker makes.
func TestScaleDocBatchJob(t *testing.T) {
	var jobDef struct {
		JobDefinitionName   string   `json:"jobDefinitionName"`
		Type                string   `json:"type"`
		PlatformCaps        []string `json:"platformCapabilities"`
		ContainerProperties struct {
			Image       string   `json:"image"`
			Command     []string `json:"command"`
			JobRoleArn  string   `json:"jobRoleArn"`
			Environment []struct {
				Name, Value string
			} `json:"environment"`
			Volumes []struct {
				Name string `json:"name"`
				EFS  *struct {
					FileSystemID string `json:"fileSystemId"`
				} `json:"efsVolumeConfiguration"`
			} `json:"volumes"`
			MountPoints []struct {
				SourceVolume  string `json:"sourceVolume"`
				ContainerPath string `json:"containerPath"`
			} `json:"mountPoints"`
		} `json:"containerProperties"`
	}
	var submit struct {
		JobName         string `json:"jobName"`
		JobQueue        string `json:"jobQueue"`
		JobDefinition   string `json:"jobDefinition"`
		ArrayProperties *struct {
			Size int `json:"size"`
		} `json:"arrayProperties"`
	}
	var policy struct {
		Version   string
		Statement []struct {
			Effect string
			Action []string
		}
	}
	found := map[string]bool{}
	for _, b := range docBlocks(t, "../docs/scale.md", "json") {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal([]byte(b), &probe); err != nil {
			t.Fatalf("a JSON block does not parse: %v\n%s", err, b)
		}
		var target any
		switch {
		case probe["containerProperties"] != nil:
			target, found["job definition"] = &jobDef, true
		case probe["arrayProperties"] != nil:
			target, found["submission"] = &submit, true
		case probe["Statement"] != nil:
			target, found["policy"] = &policy, true
		default:
			t.Fatalf("a JSON block of unknown use:\n%s", b)
		}
		if err := json.Unmarshal([]byte(b), target); err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
	}
	for _, w := range []string{"job definition", "submission", "policy"} {
		if !found[w] {
			t.Fatalf("docs/scale.md has no Batch %s", w)
		}
	}
	cp := jobDef.ContainerProperties
	if jobDef.Type != "container" || cp.Image == "" || !strings.HasPrefix(cp.JobRoleArn, "arn:aws:iam::") {
		t.Errorf("job definition: %+v", jobDef)
	}
	f := remapArgs(t, afterBinary(cp.Command), "AWS_BATCH_JOB_ARRAY_INDEX")
	m, _ := strconv.Atoi(strings.TrimPrefix(f.worker, "auto/"))
	if submit.ArrayProperties == nil || submit.ArrayProperties.Size != m || submit.JobDefinition != jobDef.JobDefinitionName || f.segments < m {
		t.Errorf("the submission (%+v) must run the definition %q as an array of %d (--worker %s, --segments %d)", submit, jobDef.JobDefinitionName, m, f.worker, f.segments)
	}
	if !slices.ContainsFunc(cp.Environment, func(e struct{ Name, Value string }) bool { return e.Name == "AWS_REGION" && e.Value != "" }) {
		t.Error("no AWS_REGION for the children")
	}
	shared := ""
	for _, mp := range cp.MountPoints {
		for _, v := range cp.Volumes {
			if v.Name == mp.SourceVolume && v.EFS != nil && v.EFS.FileSystemID != "" {
				shared = mp.ContainerPath
			}
		}
	}
	if shared == "" {
		t.Fatal("no EFS volume mounted in the children")
	}
	script := strings.Join(cp.Command, " ")
	for what, p := range map[string]string{"--journal-dir": f.journalDir, "--backup": f.backup} {
		if !under(p, shared) {
			t.Errorf("%s %q is not on the shared volume %s", what, p, shared)
		}
	}
	if !strings.Contains(script, "cd "+shared+"/") {
		t.Errorf("the children do not run in a project folder on the shared volume: %q", script)
	}
	// The policy allows what a worker calls.
	var actions []string
	for _, s := range policy.Statement {
		if s.Effect == "Allow" {
			actions = append(actions, s.Action...)
		}
	}
	for _, a := range []string{"cognito-idp:ListUsers", "dynamodb:DescribeTable", "dynamodb:Scan", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PartiQLUpdate", "dynamodb:PutItem", "dynamodb:DeleteItem"} {
		if !slices.Contains(actions, a) {
			t.Errorf("the policy does not allow %s", a)
		}
	}
	// The doc names both variables --worker auto/M reads.
	data, _ := os.ReadFile("../docs/scale.md")
	for _, v := range workerIndexVars {
		if !strings.Contains(string(data), v) {
			t.Errorf("docs/scale.md does not name %s", v)
		}
	}
}

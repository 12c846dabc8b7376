package cli

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// corpusFact is what the corpus INDEX.md says of one Amplify root.
type corpusFact struct {
	env  string // --env, where the root does not decide it
	auth string // the Cognito auth resource ("" = none)
	apis []string
	v    int // transformer version of the APIs
	// owners maps "Type.field" to the claim; every other model must have
	// no remapped owner field.
	owners map[string]string
	// notRemapped maps "Type.field" to the claim of owner fields that are
	// reported but not remapped (oidc, custom claims).
	notRemapped map[string]string
	keyOf       map[string]string
	absent      []string // models that must not be found
	warnings    []string // warning codes that must be present
}

var corpusFacts = map[string]corpusFact{
	"aws-samples__aws-serverless-airline-booking": {
		auth: "awsserverlessairline44ea6421", apis: []string{"awsserverlessairline"}, v: 1,
		owners: map[string]string{"Booking.customer": "sub"}, keyOf: map[string]string{"Booking.customer": "ByCustomerStatus"},
	},
	"VTUL__dlp-access": {
		env: "dev", auth: "iawav2658176f3", apis: []string{"collectionarchives"}, v: 2, owners: map[string]string{},
		warnings: []string{"AUTH_TRIGGERS", "AUTH_DEPENDENT"},
	},
	"hadrysmateusz__writing-app/packages/web": {
		auth: "writingtoolauth", apis: []string{"documents"}, v: 1,
		owners: map[string]string{"Document.owner": "username"}, absent: []string{"Draft"}, warnings: []string{"CONFLICT_DETECTION"},
	},
	"bradyrichmond__cupexchange": {
		auth: "cupexchangee99ad8f8", apis: []string{"cupexchange"}, v: 2,
		owners: map[string]string{"User.owner": "sub::username", "Trip.owner": "sub::username", "Order.owner": "sub::username", "Comment.owner": "sub::username", "Review.owner": "sub::username"},
	},
	"davidsilva__my-tutorial-v2": {
		env: "dev", auth: "myTutorialV2Auth", apis: []string{"mytutorialv2"}, v: 2,
		owners: map[string]string{"Product.owner": "sub::username", "Review.owner": "sub::username", "User.owner": "sub::username", "Session.owner": "sub::username", "Order.owner": "sub::username", "OrderItem.owner": "sub::username"},
	},
	// INDEX.md calls this root's default claim `username` because cli.json
	// leaves usesubusernamefordefaultidentityclaim unset; the CLI's own
	// default for an unset flag is true (sub::username), which the plan
	// follows and flags with DEFAULT_CLAIM_FLAG_UNSET.
	"chrisbonifacio__amplify-dse-repros/ext/fullstack-app": {
		env: "dev", auth: "fullstackappbea409ca", apis: []string{"fullstackapp"}, v: 2,
		owners:      map[string]string{"Blog.owner": "sub::username", "Post.owner": "sub::username", "Comment.owner": "sub::username", "Resource.owner": "sub::username"},
		notRemapped: map[string]string{"PrivateTodo.owner": "sub"},
		warnings:    []string{"OWNER_PROVIDER_UNSUPPORTED", "DEFAULT_CLAIM_FLAG_UNSET", "AUTH_TRIGGERS"},
	},
	"chrisbonifacio__amplify-dse-repros/issues/api-graphql/issue9279": {
		auth: "issue9279e9ef41b2e9ef41b2", apis: []string{"issue9279"}, v: 2, owners: map[string]string{},
		notRemapped: map[string]string{"Resource.tenantId": "custom:tenant"}, warnings: []string{"OWNER_CLAIM_CUSTOM"},
	},
	"MaiAnh871__nbiot-tracker-system/App/anhttm8-app":       {auth: "anhttm8app", owners: map[string]string{}, warnings: []string{"AUTH_DEPENDENT"}},
	"MaiAnh871__nbiot-tracker-system/App/react-amplify":     {auth: "reactamplify97f8b19b", owners: map[string]string{}},
	"MaiAnh871__nbiot-tracker-system/App/real-time-tracker": {owners: map[string]string{}, warnings: []string{"NO_COGNITO_AUTH"}},
	"MaiAnh871__nbiot-tracker-system/App/tracker-app":       {env: "dev", auth: "trackerapp", owners: map[string]string{}},
	"MaiAnh871__nbiot-tracker-system/App/tracking-app":      {auth: "trackingappaa6d2694", owners: map[string]string{}},
	"MaiAnh871__nbiot-tracker-system/App/my-tracker-app":    {auth: "mytrackerapp", owners: map[string]string{}},
	"MaiAnh871__nbiot-tracker-system/App/cognito-api": {
		auth: "cognitoapifaf94b48faf94b48", apis: []string{"cognitoapi"}, v: 2, owners: map[string]string{"User.username": "sub::username"},
	},
	"MaiAnh871__nbiot-tracker-system/App/dynamo-tracker-app": {
		auth: "dynamotrackerapp80cc5eaf80cc5eaf", apis: []string{"dynamotrackerapp"}, v: 2, owners: map[string]string{"User.username": "sub::username"},
	},
	"MaiAnh871__nbiot-tracker-system/App/my-ddb-tracker": {
		auth: "myddbtracker2fb48a942fb48a94", apis: []string{"myddbtracker"}, v: 2,
		owners: map[string]string{"User.username": "sub::username", "Device.username": "sub::username"},
	},
	"MaiAnh871__nbiot-tracker-system/App/ddb-tracker-app": {
		auth: "ddbtrackerapp49d3e19449d3e194", apis: []string{"ddbtrackerapp"}, v: 2,
		owners: map[string]string{"User.owner": "sub::username", "Device.owner": "sub::username"},
	},
	"MaiAnh871__nbiot-tracker-system/App/my-tracking-app": {
		auth: "mytrackingapp", apis: []string{"mytrackingapp"}, v: 2, owners: map[string]string{},
	},
	"parvindd__metasage": {
		auth: "maple", apis: []string{"maple"}, v: 2, owners: map[string]string{"Post.owner": "sub::username"},
		warnings: []string{"ORPHAN_RESOURCE_DIR"},
	},
	"rhok-aws__content-management-postagram": {
		auth: "postagram8bff5a2d", apis: []string{"postagram"}, v: 1, owners: map[string]string{"Post.owner": "username"},
	},
}

// TestCorpus runs plan over every Amplify root of the corpus: none may fail,
// and the facts INDEX.md states must come out.
func TestCorpus(t *testing.T) {
	corpusDir := testenv.Corpus(t)
	var roots []string
	err := filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == "project-config.json" && filepath.Base(filepath.Dir(p)) == ".config" {
			root, _ := filepath.Rel(corpusDir, filepath.Dir(filepath.Dir(filepath.Dir(p))))
			roots = append(roots, filepath.ToSlash(root))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(roots)
	if len(roots) != 20 {
		t.Errorf("found %d Amplify roots, INDEX.md lists 20: %v", len(roots), roots)
	}
	for _, root := range roots {
		t.Run(root, func(t *testing.T) {
			fact, ok := corpusFacts[root]
			if !ok {
				t.Fatalf("no facts recorded for root %s", root)
			}
			args := []string{"plan", "--json"}
			if fact.env != "" {
				args = append(args, "--env", fact.env)
			}
			out, stderr, err := runApp(t, filepath.Join(corpusDir, root), nil, args...)
			if err != nil {
				t.Fatalf("plan: %v\n%s", err, stderr)
			}
			checkCorpusFact(t, decodePlan(t, out), fact)
		})
	}
}

func checkCorpusFact(t *testing.T, p planJSON, fact corpusFact) {
	t.Helper()
	var auths []string
	for _, a := range p.Auth {
		auths = append(auths, a.Resource)
	}
	if strings.Join(auths, ",") != fact.auth {
		t.Errorf("auth resources: got %v, want %q", auths, fact.auth)
	}
	var apis []string
	owners := map[string]string{}
	notRemapped := map[string]string{}
	keyOf := map[string]string{}
	models := map[string]bool{}
	for _, api := range p.APIs {
		apis = append(apis, api.Name)
		if api.TransformerVersion != fact.v {
			t.Errorf("API %s: transformer v%d, want v%d", api.Name, api.TransformerVersion, fact.v)
		}
		if api.AuthResource != fact.auth {
			t.Errorf("API %s: auth resource %q, want %q", api.Name, api.AuthResource, fact.auth)
		}
		for _, m := range api.Models {
			models[m.Type] = true
			for _, f := range m.OwnerFields {
				k := m.Type + "." + f.Field
				if f.Remap {
					owners[k] = f.Claim
				} else {
					notRemapped[k] = f.Claim
				}
				if len(f.KeyOf) > 0 {
					keyOf[k] = strings.Join(f.KeyOf, ",")
				}
			}
		}
	}
	if strings.Join(apis, ",") != strings.Join(fact.apis, ",") {
		t.Errorf("AppSync APIs: got %v, want %v", apis, fact.apis)
	}
	sameMap(t, "owner fields", owners, fact.owners)
	sameMap(t, "owner fields not remapped", notRemapped, fact.notRemapped)
	for k, v := range fact.keyOf {
		if keyOf[k] != v {
			t.Errorf("%s: key of %q, want %q", k, keyOf[k], v)
		}
	}
	for _, m := range fact.absent {
		if models[m] {
			t.Errorf("model %s must not be found", m)
		}
	}
	codes := map[string]bool{}
	for _, w := range p.Warnings {
		codes[w.Code] = true
	}
	for _, c := range fact.warnings {
		if !codes[c] {
			t.Errorf("warning %s missing; got %v", c, p.Warnings)
		}
	}
}

func sameMap(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if want == nil {
		want = map[string]string{}
	}
	if len(got) != len(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s has claim %q, want %q", what, k, got[k], v)
		}
	}
}

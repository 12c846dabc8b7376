package backendpatch

import (
	"fmt"
	"regexp"

	"github.com/tidwall/gjson"
)

// RetainOverride is the override.ts that keeps the old user pool when its
// auth resource is removed: the file `amplify override auth` creates, with
// the pool's DeletionPolicy and UpdateReplacePolicy set to Retain. The
// identity pool, when the resource has one, is kept the same way: users'
// files are keyed by their identity ids in it, and `storage copy` needs
// it after the push to learn each user's old id.
const RetainOverride = `import { AmplifyAuthCognitoStackTemplate, AmplifyProjectInfo } from '@aws-amplify/cli-extensibility-helper';

// Written by poolmigrate: keep this user pool when the auth resource is
// removed or replaced. Users who have not signed in to the new pool yet
// still sign in against it (the user migration trigger), until
// ` + "`poolmigrate retire-old-pool`" + ` deletes it.
export function override(resources: AmplifyAuthCognitoStackTemplate, amplifyProjectInfo: AmplifyProjectInfo) {
  resources.userPool.cfnOptions.deletionPolicy = 'Retain' as any;
  resources.userPool.cfnOptions.updateReplacePolicy = 'Retain' as any;
  // The identity pool too: users' files are kept under their identity ids
  // in it, which ` + "`poolmigrate storage copy`" + ` reads after the push.
  if (resources.identityPool) {
    resources.identityPool.cfnOptions.deletionPolicy = 'Retain' as any;
    resources.identityPool.cfnOptions.updateReplacePolicy = 'Retain' as any;
  }
}
`

// The package.json and tsconfig.json the CLI puts in amplify/backend when
// a resource first gets an override.
const overridePackageJSON = `{
  "name": "overrides",
  "version": "1.0.0",
  "description": "",
  "scripts": {
    "build": "tsc",
    "watch": "tsc -w",
    "test": "echo \"Error: no test specified\" && exit 1"
  },
  "dependencies": {
    "@aws-amplify/cli-extensibility-helper": "^3.0.0"
  },
  "devDependencies": {
    "typescript": "^4.2.4"
  }
}
`

const overrideTSConfig = `{
  "compilerOptions": {
    "target": "es6",
    "module": "commonjs",
    "strict": false,
    "esModuleInterop": true,
    "forceConsistentCasingInFileNames": true,
    "outDir": "build"
  }
}
`

var retainRE = regexp.MustCompile(`userPool\.cfnOptions\.deletionPolicy\s*=\s*['"]?(Retain|cdk\.CfnDeletionPolicy\.RETAIN|CfnDeletionPolicy\.RETAIN)`)

// RetainPool writes the override that keeps auth's user pool (and, when
// missing, the override project's package.json and tsconfig.json). An
// override.ts of the user's own is not rewritten: the error says which
// two lines to add.
func RetainPool(root, auth string) (*ChangeSet, error) {
	cs := newChangeSet(root)
	file := "amplify/backend/auth/" + auth + "/override.ts"
	cur, ok, err := cs.load(file)
	if err != nil {
		return nil, err
	}
	if ok {
		if retainRE.Match(cur) {
			return cs, nil // already retained
		}
		return nil, fmt.Errorf("%s is an override of your own: add these lines inside its override function, then run `amplify build` to check it compiles:\n  resources.userPool.cfnOptions.deletionPolicy = 'Retain' as any;\n  resources.userPool.cfnOptions.updateReplacePolicy = 'Retain' as any;", file)
	}
	if err := cs.set(file, []byte(RetainOverride), "keep the old user pool when its auth resource goes (DeletionPolicy and UpdateReplacePolicy Retain)"); err != nil {
		return nil, err
	}
	if err := addOverrideProject(cs); err != nil {
		return nil, err
	}
	return cs, nil
}

// TriggerOverride is the override.ts that keeps the user migration trigger
// on the new pool through every push of its auth resource.
func TriggerOverride(functionArn string) string {
	return `import { AmplifyAuthCognitoStackTemplate, AmplifyProjectInfo } from '@aws-amplify/cli-extensibility-helper';

// Written by poolmigrate: the pool's user migration trigger stays through
// every ` + "`amplify push`" + ` of this auth resource. After ` + "`poolmigrate trigger remove`" + `,
// run ` + "`poolmigrate trigger override --undo`" + ` (or delete this file) and push.
export function override(resources: AmplifyAuthCognitoStackTemplate, amplifyProjectInfo: AmplifyProjectInfo) {
  resources.userPool.lambdaConfig = {
    ...((resources.userPool.lambdaConfig as any) || {}),
    userMigration: '` + functionArn + `',
  };
}
`
}

var (
	triggerOverrideRE = regexp.MustCompile(`userMigration\s*:`)
	arnCharsRE        = regexp.MustCompile(`^arn:[A-Za-z0-9:_.$-]+$`)
)

// WireTrigger writes the override that sets the new auth resource's
// LambdaConfig.UserMigration. It refuses when the resource has triggers
// of its own: the CLI attaches those with a custom resource that replaces
// the pool's whole LambdaConfig after each push, which would drop the
// user migration trigger (check with `trigger status` after each push
// and deploy again instead).
func WireTrigger(root, auth, functionArn string) (*ChangeSet, error) {
	if !arnCharsRE.MatchString(functionArn) {
		// It becomes TypeScript source that `amplify build` runs.
		return nil, fmt.Errorf("%q is not a Lambda function ARN: it may hold only letters, digits and :_-.$", functionArn)
	}
	cs := newChangeSet(root)
	inputs, ok, err := cs.loadJSON("amplify/backend/auth/" + auth + "/cli-inputs.json")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("amplify/backend/auth/%s/cli-inputs.json is missing: the override route needs an auth resource the CLI created (an imported pool keeps its own settings: deploy the trigger to it directly)", auth)
	}
	if tr := gjson.Get(inputs, "cognitoConfig.triggers"); (tr.IsObject() && len(tr.Map()) > 0) || (tr.Type == gjson.String && tr.String() != "" && tr.String() != "{}") {
		return nil, fmt.Errorf("auth %s has Lambda triggers of its own, which the CLI attaches with a custom resource that replaces the pool's whole LambdaConfig after each push: an override cannot keep the user migration trigger there. Run `poolmigrate trigger status` after each push (and `trigger deploy` again when it reports the trigger detached)", auth)
	}
	file := "amplify/backend/auth/" + auth + "/override.ts"
	cur, exists, err := cs.load(file)
	if err != nil {
		return nil, err
	}
	if exists {
		if triggerOverrideRE.Match(cur) {
			return cs, nil
		}
		return nil, fmt.Errorf("%s is an override of your own: add this inside its override function, then run `amplify build`:\n  resources.userPool.lambdaConfig = { ...((resources.userPool.lambdaConfig as any) || {}), userMigration: '%s' };", file, functionArn)
	}
	if err := cs.set(file, []byte(TriggerOverride(functionArn)), "keep the user migration trigger on the pool through pushes"); err != nil {
		return nil, err
	}
	if err := addOverrideProject(cs); err != nil {
		return nil, err
	}
	return cs, nil
}

// addOverrideProject adds, where missing, the package.json and
// tsconfig.json `amplify override` puts in amplify/backend.
func addOverrideProject(cs *ChangeSet) error {
	for name, content := range map[string]string{"amplify/backend/package.json": overridePackageJSON, "amplify/backend/tsconfig.json": overrideTSConfig} {
		if _, exists, err := cs.load(name); err != nil {
			return err
		} else if !exists {
			if err := cs.set(name, []byte(content), "the override project `amplify override` sets up"); err != nil {
				return err
			}
		}
	}
	return nil
}

// IsSafeFunctionARN reports whether functionArn holds only the characters
// of a Lambda ARN, so it may stand inside generated TypeScript that a
// build runs (no quote, backtick, `${`, space or line break).
func IsSafeFunctionARN(functionArn string) bool { return arnCharsRE.MatchString(functionArn) }

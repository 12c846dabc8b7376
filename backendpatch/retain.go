package backendpatch

import (
	"fmt"
	"regexp"
)

// RetainOverride is the override.ts that keeps the old user pool when its
// auth resource is removed: the file `amplify override auth` creates, with
// the pool's DeletionPolicy and UpdateReplacePolicy set to Retain.
const RetainOverride = `import { AmplifyAuthCognitoStackTemplate, AmplifyProjectInfo } from '@aws-amplify/cli-extensibility-helper';

// Written by poolmigrate: keep this user pool when the auth resource is
// removed or replaced. Users who have not signed in to the new pool yet
// still sign in against it (the user migration trigger), until
// ` + "`poolmigrate retire-old-pool`" + ` deletes it.
export function override(resources: AmplifyAuthCognitoStackTemplate, amplifyProjectInfo: AmplifyProjectInfo) {
  resources.userPool.cfnOptions.deletionPolicy = 'Retain' as any;
  resources.userPool.cfnOptions.updateReplacePolicy = 'Retain' as any;
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
	for name, content := range map[string]string{"amplify/backend/package.json": overridePackageJSON, "amplify/backend/tsconfig.json": overrideTSConfig} {
		if _, exists, err := cs.load(name); err != nil {
			return nil, err
		} else if !exists {
			if err := cs.set(name, []byte(content), "the override project `amplify override` sets up"); err != nil {
				return nil, err
			}
		}
	}
	return cs, nil
}

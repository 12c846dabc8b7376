package amplifyproj

import (
	"fmt"
	"regexp"
)

// resourceNameRE is the Amplify CLI's own pattern for resource names, which
// become folder names (amplify/backend/<category>/<name>) and parts of
// CloudFormation logical ids. In @aws-amplify/cli-internal 11.1.0:
//   - auth: amplify-category-auth/lib/provider-utils/supported-services.js,
//     resourceName validation `^([a-zA-Z0-9]){1,128}$` ("only contain
//     alphanumeric characters"); user pool groups `^[a-zA-Z0-9]+$`
//     (service-walkthroughs/auth-questions.js);
//   - imported auth: amplify-category-auth/.../import/index.js names the
//     resource projectName.toLowerCase().replace(/[^A-Za-z0-9_]+/g, '_')
//     followed by a hex id, hence the underscore;
//   - function: amplify-category-function/.../generalQuestionsWalkthrough.js
//     `^[a-zA-Z0-9]+$` ("You can use the following characters: a-z A-Z 0-9");
//   - api: amplify-category-api/lib/provider-utils/supported-services.js
//     `^[a-zA-Z0-9]+$`.
//
// A name outside it never came from the CLI; joined into a path it could
// lead anywhere ("../"), so poolmigrate refuses it before it becomes one.
var resourceNameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,128}$`)

// CheckResourceName refuses a resource name the Amplify CLI would not
// have made; what names where it was found (for the message).
func CheckResourceName(what, name string) error {
	if resourceNameRE.MatchString(name) {
		return nil
	}
	return &BadNameError{What: what, Name: name}
}

// BadNameError is a resource name the Amplify CLI would not have made.
type BadNameError struct {
	What string // e.g. `auth resource in amplify/backend/backend-config.json`
	Name string
}

func (e *BadNameError) Error() string {
	return fmt.Sprintf("%s %q is not an Amplify resource name (1 to 128 letters, digits or _, as the Amplify CLI makes them): poolmigrate uses resource names as folder names and refuses this one; nothing was written. Fix the name (or restore the file with git) and run again", e.What, e.Name)
}

// poolIDRE is the UserPoolId pattern of the Cognito API reference
// ([\w-]+_[0-9a-zA-Z]+, 1 to 55 characters); pool ids name state files.
var poolIDRE = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)

// CheckPoolID refuses a string that is not a user pool id.
func CheckPoolID(what, id string) error {
	if len(id) <= 55 && poolIDRE.MatchString(id) {
		return nil
	}
	return fmt.Errorf("%s %q is not a Cognito user pool id (like us-east-1_AbC123xyZ): nothing was written; fix it and run again", what, id)
}

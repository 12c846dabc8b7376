package authplan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// answers are the plan's choices as answers to the interactive prompts of
// `amplify add auth`, in the order the CLI asks them (Plan.Answers).
func (p *Plan) answers(c gjson.Result, required, aliases []string, mfa string, minLen float64, constraints, read, write []string, identity, oauth bool) []string {
	yesNo := func(b bool) string {
		if b {
			return "Yes"
		}
		return "No"
	}
	services := "User Sign-Up & Sign-In only (Best used with a cloud API only)"
	if identity {
		services = "User Sign-Up, Sign-In, connected with AWS IAM controls (Enables per-user Storage features for images or other content, Analytics, and more)"
	}
	signIn := map[string]string{SignInUsername: "Username", SignInEmail: "Email", SignInPhone: "Phone Number", SignInEmailAndPhone: "Email or Phone Number"}[p.SignIn]
	a := []string{
		"Do you want to use the default authentication and security configuration? Manual configuration",
		"Select the authentication/authorization services that you want to use: " + services,
		"Provide a friendly name for your resource that will be used to label this category in the project: " + p.NewName,
	}
	if identity {
		a = append(a, "Allow unauthenticated logins? "+yesNo(c.Get("allowUnauthenticatedIdentities").Bool()))
	}
	a = append(a, "How do you want users to be able to sign in? "+signIn)
	if len(aliases) > 0 {
		a = append(a, "Do you want to add additional sign-in attributes (aliases)? "+strings.Join(aliases, ", "))
	}
	a = append(a, "Do you want to add User Pool Groups? "+yesNo(len(p.Groups) > 0))
	if len(p.Groups) > 0 {
		a = append(a, "Provide a name for your user pool group: "+strings.Join(p.Groups, ", then ")+" (in this order: it sets their precedence)")
	}
	a = append(a, "Do you want to add an admin queries API? "+yesNo(c.Get("adminQueries").Bool()))
	a = append(a, "Multifactor authentication (MFA) user login options: "+mfa)
	pw := "Enter a minimum password length for this User Pool: " + strconv.FormatFloat(minLen, 'f', -1, 64)
	if len(constraints) > 0 {
		pw += "; Select the password character requirements: " + strings.Join(constraints, ", ")
	}
	a = append(a, pw)
	a = append(a, "What attributes are required for signing up? "+strings.Join(required, ", "))
	a = append(a, fmt.Sprintf("Specify the app's refresh token expiration period (in days): %v", number(c.Get("userpoolClientRefreshTokenValidity"))))
	a = append(a, "Do you want to specify the user attributes this app can read and write? "+yesNo(len(read)+len(write) > 0))
	if len(read)+len(write) > 0 {
		a = append(a, "Specify read attributes: "+strings.Join(read, ", ")+"; Specify write attributes: "+strings.Join(write, ", "))
	}
	a = append(a, "Do you want to use an OAuth flow? "+yesNo(oauth))
	a = append(a, "Do you want to configure Lambda Triggers for Cognito? "+yesNo(len(p.Triggers) > 0))
	for _, t := range p.Triggers {
		a = append(a, fmt.Sprintf("  %s: choose \"Create your own module\" and copy the code of amplify/backend/function/%s/src (or answer No and let `poolmigrate patch` move the function to %s%s)", t.Event, t.Function, p.NewName, t.Event))
	}
	return a
}

package cli

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
)

// explainAWS adds a hint to AWS failures a user can act on.
func explainAWS(err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.ErrorCode() {
	case "AccessDeniedException", "AccessDenied", "NotAuthorizedException":
		return fmt.Errorf("%w\nhint: the credentials in use lack this permission; check --profile and the IAM policy", err)
	case "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
		return fmt.Errorf("%w\nhint: the AWS credentials are invalid or expired; run `aws sso login` or check --profile", err)
	}
	return err
}

// notReady is a check that found something not (yet) so: exit 1, with why.
type notReady struct{ msg string }

func (e notReady) Error() string { return e.msg }
func (e notReady) ExitCode() int { return 1 }

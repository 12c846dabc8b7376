package deploy

import (
	"fmt"
	"regexp"
)

// FunctionARN is a Lambda function's ARN, parsed.
type FunctionARN struct {
	Partition, Region, Account, Name string
	Qualifier                        string // a version, an alias or $LATEST; "" when unqualified
}

// Lambda's function ARN: a partition, a region, a 12-digit account, a name
// of 1-64 letters, digits, - and _, and optionally a version (digits), an
// alias or $LATEST.
var functionARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]|aws-eusc):lambda:([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):(\d{12}):function:([A-Za-z0-9_-]{1,64})(?::(\$LATEST|[A-Za-z0-9_-]{1,128}))?$`)

// ParseFunctionARN parses s as a Lambda function's ARN and refuses
// anything else. What it accepts has no quote, backslash, backtick, `${`,
// space or line break, so it may stand inside generated source.
func ParseFunctionARN(s string) (FunctionARN, error) {
	m := functionARNRE.FindStringSubmatch(s)
	if m == nil {
		return FunctionARN{}, fmt.Errorf("%q is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME, optionally :VERSION or :ALIAS; `poolmigrate trigger deploy` prints it)", s)
	}
	return FunctionARN{Partition: m[1], Region: m[2], Account: m[3], Name: m[4], Qualifier: m[5]}, nil
}

func (a FunctionARN) String() string {
	s := "arn:" + a.Partition + ":lambda:" + a.Region + ":" + a.Account + ":function:" + a.Name
	if a.Qualifier != "" {
		s += ":" + a.Qualifier
	}
	return s
}

package cognito

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// LogReader is the part of the CloudWatch Logs API that reads an import
// job's per-line results.
type LogReader interface {
	GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

var jobLogLine = regexp.MustCompile(`^\[(FAILED|SKIPPED|SUCCEEDED)\] Line Number (\d+) - (.*)$`)

// ReadJobLog reads a job's log stream and returns, by CSV line number, the
// result of every line that did not succeed ("FAILED: reason").
func ReadJobLog(ctx context.Context, api LogReader, group, stream string) (map[int]string, error) {
	out := map[int]string{}
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: &group, LogStreamName: &stream, StartFromHead: ptr(true)}
	for {
		page, err := api.GetLogEvents(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("read CloudWatch Logs %s %s: %w", group, stream, err)
		}
		for _, e := range page.Events {
			m := jobLogLine.FindStringSubmatch(deref(e.Message))
			if m == nil || m[1] == "SUCCEEDED" {
				continue
			}
			n, _ := strconv.Atoi(m[2])
			out[n] = m[1] + ": " + m[3]
		}
		// The stream ends when the forward token comes back unchanged.
		if page.NextForwardToken == nil || (in.NextToken != nil && *page.NextForwardToken == *in.NextToken) || len(page.Events) == 0 {
			return out, nil
		}
		in.NextToken = page.NextForwardToken
	}
}

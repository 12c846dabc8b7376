package cognito

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/poolmigrate/poolmigrate/testbed/testenv"
)

// synthPool answers the backup's calls for n generated users without
// holding them: user i has a sub whose first 32 bits grow with i, so a sub
// prefix is a contiguous range of i and a page token is the next i.
type synthPool struct{ n int }

func (s synthPool) sub(i int) string {
	hi := uint32(uint64(i) * (1 << 32) / uint64(s.n))
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", hi, i&0xffff, i&0xfff, (i>>12)&0xfff, i)
}

func (s synthPool) DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, _ ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error) {
	return &cip.DescribeUserPoolOutput{UserPool: &types.UserPoolType{Id: in.UserPoolId, Name: ptr("synthetic"), EstimatedNumberOfUsers: int32(s.n)}}, nil
}

func (s synthPool) ListUsers(ctx context.Context, in *cip.ListUsersInput, _ ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	prefix := strings.TrimSuffix(strings.TrimPrefix(*in.Filter, `sub ^= "`), `"`)
	lo, _ := strconv.ParseUint(prefix+strings.Repeat("0", 8-len(prefix)), 16, 64)
	hi := lo + 1<<(32-4*len(prefix))
	first := int((lo*uint64(s.n) + (1<<32 - 1)) >> 32)
	end := int((hi*uint64(s.n) + (1<<32 - 1)) >> 32)
	if in.PaginationToken != nil {
		first, _ = strconv.Atoi(*in.PaginationToken)
	}
	last := min(first+int(*in.Limit), end, s.n)
	out := &cip.ListUsersOutput{}
	now := time.Unix(1700000000, 0)
	for i := first; i < last; i++ {
		sub := s.sub(i)
		out.Users = append(out.Users, types.UserType{
			Username: ptr(fmt.Sprintf("user%07d", i)), Enabled: true, UserStatus: types.UserStatusTypeConfirmed,
			UserCreateDate: &now, UserLastModifiedDate: &now,
			Attributes: []types.AttributeType{
				{Name: ptr("sub"), Value: ptr(sub)},
				{Name: ptr("email"), Value: ptr(fmt.Sprintf("user%07d@example.com", i))},
				{Name: ptr("email_verified"), Value: ptr("true")},
				{Name: ptr("name"), Value: ptr(fmt.Sprintf("User Number %d", i))},
			},
		})
	}
	if last < end {
		out.PaginationToken = ptr(strconv.Itoa(last))
	}
	return out, nil
}

func (s synthPool) ListGroups(context.Context, *cip.ListGroupsInput, ...func(*cip.Options)) (*cip.ListGroupsOutput, error) {
	return &cip.ListGroupsOutput{}, nil
}

func (s synthPool) ListUsersInGroup(context.Context, *cip.ListUsersInGroupInput, ...func(*cip.Options)) (*cip.ListUsersInGroupOutput, error) {
	return &cip.ListUsersInGroupOutput{}, nil
}

// BenchmarkBackupMemory backs up generated pools of growing size with no
// rate limit, to show that memory stays flat as the pool grows (the tool's
// own cost; the network is not in it). Run:
//
//	go test ./cognito -run '^$' -bench BackupMemory -benchtime 1x
func BenchmarkBackupMemory(b *testing.B) {
	sizes := []int{10000, 100000, 1000000}
	if s := os.Getenv("POOLMIGRATE_BENCH_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, _ := strconv.Atoi(f)
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				out := filepath.Join(b.TempDir(), "b.jsonl")
				runtime.GC()
				stop := make(chan struct{})
				peak := testenv.PeakHeap(stop)
				start := time.Now()
				_, footer, err := Backup(context.Background(), synthPool{n}, BackupOptions{PoolID: "us-east-1_Synth", Out: out})
				elapsed := time.Since(start)
				close(stop)
				if err != nil {
					b.Fatal(err)
				}
				if footer.Users != int64(n) {
					b.Fatalf("backed up %d of %d users", footer.Users, n)
				}
				fi, _ := os.Stat(out)
				b.ReportMetric(float64(n)/elapsed.Seconds(), "users/s")
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
			}
		})
	}
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	citypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentity/types"

	"github.com/poolmigrate/poolmigrate/storage/identitymap"
	"github.com/poolmigrate/poolmigrate/storage/s3move"
)

// Which old identity pool retire-old-pool deletes with the old user pool.
// --old-identity-pool names it; without the flag, the project's state
// may: migrate's storage-ids step (old-identities.jsonl) and `storage
// copy` (identity-map.jsonl) record the old user pool and its identity
// pool on their start lines, and retain-pool kept that identity pool
// through the push. A state file is not proof: what it names is used only
// when it is of this old user pool, and it passes the same live checks
// as the flag (planRetireStorage: it must list the old user pool and not
// the new one), else retire refuses and deletes nothing.

// fromFlag is where a pool named by --old-identity-pool comes from.
const fromFlag = "--old-identity-pool"

// retireIdentityPool is the old identity pool retire is to delete, or ""
// with Note saying why none is.
type retireIdentityPool struct {
	ID string
	// From is fromFlag or the state file that names ID.
	From string
	Note string
}

// stateIdentityPoolFiles are the state files whose start line names the
// old user pool and its identity pool, in the order they are read.
func stateIdentityPoolFiles(stateDir string) []string {
	return []string{oldIdentitiesPath(stateDir), filepath.Join(stateDir, "storage", "identity-map.jsonl")}
}

// findOldIdentityPool decides which old identity pool retire deletes: the
// flag's, else the one the project's state records for oldPool, else
// none (said in Note). Two state files naming two pools, or a file that
// does not read, make it refuse: nothing is deleted on a guess.
func findOldIdentityPool(ctx context.Context, api interface {
	DescribeIdentityPool(context.Context, *cognitoidentity.DescribeIdentityPoolInput, ...func(*cognitoidentity.Options)) (*cognitoidentity.DescribeIdentityPoolOutput, error)
}, stateDir string, r *retireFlags, oldPool string) (retireIdentityPool, error) {
	switch {
	case r.oldIdentityPool != "":
		return retireIdentityPool{ID: r.oldIdentityPool, From: fromFlag}, nil
	case r.keepOldIdentityPool:
		return retireIdentityPool{Note: "The old identity pool, if one was kept, is left as it is (--keep-old-identity-pool): it was not looked for."}, nil
	}
	var found retireIdentityPool
	var notes []string
	for _, path := range stateIdentityPoolFiles(stateDir) {
		start, _, err := identitymap.Read(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue
		case err != nil:
			return found, retireRefused{fmt.Sprintf("read the old identity pool from %s: %v; nothing was deleted: pass %s ID (the old identity pool) or --keep-old-identity-pool", path, err, fromFlag)}
		case start.Kind == "":
			continue
		case start.OldUserPool != oldPool:
			notes = append(notes, fmt.Sprintf("%s records old user pool %s, not %s: its identity pool %s is not used.", path, start.OldUserPool, oldPool, start.OldIdentityPool))
			continue
		case start.NewIdentityPool != "" && start.NewIdentityPool == start.OldIdentityPool:
			continue // one identity pool on both sides: none was left behind
		}
		if err := s3move.CheckIdentityID(start.OldIdentityPool); err != nil {
			return found, retireRefused{fmt.Sprintf("%s names old identity pool %q, which is not an identity pool id (REGION:GUID): %v; nothing was deleted", path, start.OldIdentityPool, err)}
		}
		if found.ID != "" && found.ID != start.OldIdentityPool {
			return found, retireRefused{fmt.Sprintf("%s names old identity pool %s, %s names %s: nothing was deleted; pass %s ID (the one that lists %s as a provider) or --keep-old-identity-pool",
				found.From, found.ID, path, start.OldIdentityPool, fromFlag, oldPool)}
		}
		if found.ID == "" {
			found = retireIdentityPool{ID: start.OldIdentityPool, From: path}
		}
	}
	if found.ID == "" {
		notes = append(notes, fmt.Sprintf("No old identity pool of user pool %s is recorded in %s: an old identity pool, if one was kept, is not touched (pass %s ID to delete it with the pool).",
			oldPool, filepath.Join(stateDir, "storage"), fromFlag))
		return retireIdentityPool{Note: strings.Join(notes, "\n")}, nil
	}
	_, err := api.DescribeIdentityPool(ctx, &cognitoidentity.DescribeIdentityPoolInput{IdentityPoolId: aws.String(found.ID)})
	var nf *citypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		notes = append(notes, fmt.Sprintf("The old identity pool %s recorded in %s no longer exists: there is none to delete.", found.ID, found.From))
		return retireIdentityPool{Note: strings.Join(notes, "\n")}, nil
	}
	// Any other answer is checked with the pool in planRetireStorage.
	found.Note = strings.Join(notes, "\n")
	return found, nil
}

package migration

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/poolmigrate/poolmigrate/cognito"
	"github.com/poolmigrate/poolmigrate/dynamo"
)

// Live is what `plan --live` learned from AWS.
type Live struct {
	Pools  []cognito.Pool `json:"pools"`
	Tables []dynamo.Table `json:"tables"`
}

// LiveClients are the AWS APIs that AddLive reads.
type LiveClients struct {
	Cognito cognito.PoolDescriber
	Dynamo  dynamo.TableReader
}

// AddLive confirms the plan against AWS: it finds API ids that
// amplify-meta.json could not give by matching <Type>-<apiId>-<env> among the
// account's tables, checks that every model table exists with the keys the
// schema implies, and reads each user pool's configuration.
func (pl *Plan) AddLive(ctx context.Context, c LiveClients) error {
	live := &Live{Pools: []cognito.Pool{}, Tables: []dynamo.Table{}}

	var names []string
	for i := range pl.APIs {
		if pl.APIs[i].APIID != "" {
			continue
		}
		if names == nil {
			var err error
			if names, err = dynamo.ListTableNames(ctx, c.Dynamo); err != nil {
				return err
			}
		}
		pl.discoverAPIID(&pl.APIs[i], names)
	}

	for i := range pl.APIs {
		api := &pl.APIs[i]
		for _, m := range api.Models {
			if m.Table == "" {
				continue
			}
			t, err := dynamo.DescribeTable(ctx, c.Dynamo, m.Table)
			if err != nil {
				return err
			}
			live.Tables = append(live.Tables, t)
			pl.checkTable(api.Name, m, t)
		}
	}

	for _, a := range pl.Auth {
		if a.UserPoolID == "" {
			pl.warn("POOL_ID_UNKNOWN", "auth "+a.Resource+": user pool id unknown (amplify-meta.json missing); pass --pool to commands that read the pool")
			continue
		}
		p, err := cognito.DescribePool(ctx, c.Cognito, a.UserPoolID)
		if errors.Is(err, cognito.ErrPoolNotFound) {
			pl.warn("POOL_NOT_FOUND", fmt.Sprintf("auth %s: user pool %s does not exist in region %s; was it deleted, or is the region wrong?", a.Resource, a.UserPoolID, pl.Region))
			continue
		}
		if err != nil {
			return err
		}
		live.Pools = append(live.Pools, p)
		pl.checkTriggers(a, p)
	}
	pl.Live = live
	return nil
}

// discoverAPIID picks the API id that the most of the API's model tables
// share; a tie leaves the id unknown, since guessing would point the remap
// at another API's data.
func (pl *Plan) discoverAPIID(api *API, tables []string) {
	suffix := "-" + pl.Env
	counts := map[string]int{}
	for _, m := range api.Models {
		prefix := m.tableBase + "-"
		for _, t := range tables {
			if strings.HasPrefix(t, prefix) && strings.HasSuffix(t, suffix) && len(t) > len(prefix)+len(suffix) {
				id := t[len(prefix) : len(t)-len(suffix)]
				if !strings.Contains(id, "-") {
					counts[id]++
				}
			}
		}
	}
	if len(counts) == 0 {
		pl.warn("API_ID_NOT_FOUND", fmt.Sprintf("API %s: no table named <Type>-<apiId>-%s for its models in this account and region; check --region and --env", api.Name, pl.Env))
		return
	}
	ids := make([]string, 0, len(counts))
	for id := range counts {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		return counts[ids[i]] > counts[ids[j]] || counts[ids[i]] == counts[ids[j]] && ids[i] < ids[j]
	})
	if len(ids) > 1 && counts[ids[0]] == counts[ids[1]] {
		pl.warn("API_ID_AMBIGUOUS", fmt.Sprintf("API %s: tables of several APIs match its models (ids %s); run `amplify pull` so amplify-meta.json names the right one", api.Name, strings.Join(ids, ", ")))
		return
	}
	api.APIID = ids[0]
	for i := range api.Models {
		api.Models[i].Table = TableName(api.Models[i].tableBase, api.APIID, pl.Env)
	}
	pl.warn("API_ID_DISCOVERED", fmt.Sprintf("API %s: id %s found from table names (%d of %d models matched)", api.Name, api.APIID, counts[api.APIID], len(api.Models)))
}

func (pl *Plan) checkTable(api string, m Model, t dynamo.Table) {
	if !t.Exists {
		pl.warn("TABLE_NOT_FOUND", fmt.Sprintf("API %s: table %s of model %s does not exist (not pushed yet, customised by override.ts, or another region?)", api, t.Name, m.Type))
		return
	}
	if t.Partition != m.PrimaryKey.Partition || t.Sort != m.PrimaryKey.Sort {
		pl.warn("TABLE_KEY_MISMATCH", fmt.Sprintf("table %s has key (%s, %s) but the schema of %s implies (%s, %s); the table wins for the remap", t.Name, t.Partition, t.Sort, m.Type, m.PrimaryKey.Partition, m.PrimaryKey.Sort))
	}
	for _, ix := range m.Indexes {
		if _, ok := t.Indexes[ix.Name]; !ok {
			pl.warn("INDEX_NOT_FOUND", fmt.Sprintf("table %s has no index %s that the schema of %s declares", t.Name, ix.Name, m.Type))
		}
	}
}

// checkTriggers compares the pool's deployed Lambda triggers with the ones
// the project files declare: a trigger attached by hand (console, script)
// is not in the files, so neither `amplify add auth` nor `poolmigrate
// patch` gives it to the new pool.
func (pl *Plan) checkTriggers(a Auth, p cognito.Pool) {
	for _, t := range p.UndeclaredTriggers(a.Triggers, pl.Env) {
		pl.warn("TRIGGER_NOT_IN_PROJECT", fmt.Sprintf("pool %s invokes %s for %s, which the project files do not declare (attached by hand?): the new pool will not get it; add it to the new auth resource (`amplify update auth`, or an override) or attach it again after `amplify push`", p.ID, t.Function, t.Event))
	}
}

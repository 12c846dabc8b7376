package testenv

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"testing"
)

// AppSyncDataSource is a data source of a planted AppSync API.
type AppSyncDataSource struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	TableName string `json:"tableName,omitempty"`
}

// PlantAppSyncAPI records a deployed AppSync API in the shim, which
// answers ListGraphqlApis and ListDataSources from it.
func PlantAppSyncAPI(apiID, name, graphqlURL string, sources []AppSyncDataSource) error {
	endpoint := os.Getenv("AWS_ENDPOINT_URL_APPSYNC")
	if endpoint == "" {
		return errNoAppSync
	}
	body, _ := json.Marshal(map[string]any{"apiId": apiID, "name": name, "graphqlUrl": graphqlURL, "dataSources": sources})
	resp, err := http.Post(endpoint+"/_testbed/appsync/apis", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return &plantError{what: "AppSync API " + apiID, status: resp.Status}
	}
	return nil
}

// PlantStackBody records a stack in the shim (PlantStackTemplate for
// programs, which have no testing.TB).
func PlantStackBody(name, id string, outputs, resources map[string]string, template string) error {
	endpoint := os.Getenv("AWS_ENDPOINT_URL_CLOUDFORMATION")
	if endpoint == "" {
		return errNoCloudFormation
	}
	body, _ := json.Marshal(map[string]any{"name": name, "id": id, "outputs": outputs, "resources": resources, "template": template})
	resp, err := http.Post(endpoint+"/_testbed/cloudformation/stacks", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return &plantError{what: "stack " + name, status: resp.Status}
	}
	return nil
}

type plantError struct{ what, status string }

func (e *plantError) Error() string { return "plant " + e.what + ": " + e.status }

type envError string

func (e envError) Error() string { return string(e) }

const (
	errNoAppSync        = envError("AWS_ENDPOINT_URL_APPSYNC is not set: start the test bed with testbed/testbed.sh and source .testbed/env")
	errNoCloudFormation = envError("AWS_ENDPOINT_URL_CLOUDFORMATION is not set: start the test bed with testbed/testbed.sh and source .testbed/env")
)

// RequireAppSync fails or skips a test when the shim's AppSync is not
// configured.
func RequireAppSync(t testing.TB) {
	t.Helper()
	if os.Getenv("AWS_ENDPOINT_URL_APPSYNC") == "" {
		Skip(t, errNoAppSync.Error())
	}
}

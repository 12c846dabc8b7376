package storage

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/poolmigrate/poolmigrate/schema"
)

var testModels = []Model{
	{Type: "Profile", Table: "Profile-abc-dev", OwnerFields: []string{"owner"}, Fields: []schema.Field{
		{Name: "id", Type: "ID!"}, {Name: "owner", Type: "String"}, {Name: "identityId", Type: "String"},
		{Name: "friends", Type: "[String!]", List: true}, {Name: "age", Type: "Int"},
	}},
	{Type: "Note", Table: "Note-abc-dev", Fields: []schema.Field{{Name: "id", Type: "ID!"}}},
}

func TestIdentityFields(t *testing.T) {
	got, err := IdentityFields([]string{"Profile.identityId", "Profile.friends", "Profile.identityId"}, testModels)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (IdentityField{Type: "Profile", Field: "identityId", Table: "Profile-abc-dev"}) || !got[1].List {
		t.Errorf("fields: %+v", got)
	}
	for spec, want := range map[string]string{
		"identityId":         "write it as Type.field",
		"Profile.":           "write it as Type.field",
		"Profile.a.b":        "write it as Type.field",
		"Nope.identityId":    "the schema has no model Nope (models: Note, Profile)",
		"Profile.identityID": "model Profile declares no field identityID (its String and ID fields: id, owner, identityId, friends)",
		"Profile.age":        "Profile.age is of type Int",
		"Profile.owner":      "is an owner field",
		"Note.missing":       "declares no field missing (its String and ID fields: id)",
	} {
		_, err := IdentityFields([]string{spec}, testModels)
		var fe *FieldError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "--identity-field "+spec+": ") {
			t.Errorf("%s: %v, want a FieldError containing %q", spec, err, want)
		}
	}
	if _, err := IdentityFields([]string{"A.b"}, nil); err == nil || !strings.Contains(err.Error(), "no models") {
		t.Errorf("no models: %v", err)
	}
}

func TestLooksLikeIdentityID(t *testing.T) {
	for s, want := range map[string]bool{
		"us-east-1:0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f":     true,
		"us-gov-west-1:0C1D2E3F-4A5B-6C7D-8E9F-0A1B2C3D4E5F": true,
		"0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f":               false, // a sub
		"0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f::alice":        false, // an owner value
		"us-east-1_AbC123": false, // a user pool id
		"us-east-1:0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f/x": false,
		"x us-east-1:0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f": false,
	} {
		if LooksLikeIdentityID(s) != want {
			t.Errorf("LooksLikeIdentityID(%q) = %v", s, !want)
		}
	}
}

// fakeScanner answers Scan with the items of its tables.
type fakeScanner map[string][]map[string]types.AttributeValue

func (f fakeScanner) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	items, ok := f[aws.ToString(in.TableName)]
	if !ok {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no table")}
	}
	if n := int(aws.ToInt32(in.Limit)); n > 0 && len(items) > n {
		items = items[:n]
	}
	return &dynamodb.ScanOutput{Items: items}, nil
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func TestCheckSampledValuesWarnsForUnnamedIdentityFields(t *testing.T) {
	id := "us-east-1:0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"
	api := fakeScanner{
		"Profile-abc-dev": {
			{"id": s("1"), "owner": s("sub::alice"), "identityId": s(id), "avatarOwner": s(id), "friends": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x"), s(id)}}},
			{"id": s("2"), "owner": s("sub::bob"), "identityId": s("eu-west-1:00000000-0000-0000-0000-000000000000")},
		},
	}
	p := newPlan(1)
	p.SetIdentityFields([]IdentityField{{Type: "Profile", Field: "identityId"}})
	if err := p.CheckSampledValues(context.Background(), api, testModels); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range p.Warnings {
		if w.Code != "IDENTITY_FIELD_UNNAMED" {
			t.Errorf("warning %+v", w)
		}
		got = append(got, w.Message)
		if strings.Contains(w.Message, id) {
			t.Errorf("the warning shows a whole identity id: %s", w.Message)
		}
	}
	// identityId is named; Note's table is missing (plan --live says so).
	if len(got) != 2 || !strings.HasPrefix(got[0], "Profile.avatarOwner (table Profile-abc-dev) holds values like identity ids (us-east-1:0c1d…) in 1 of 2 sampled items") || !strings.Contains(got[0], "--identity-field Profile.avatarOwner") || !strings.HasPrefix(got[1], "Profile.friends") {
		t.Errorf("warnings: %q", got)
	}
}

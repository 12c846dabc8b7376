import { type ClientSchema, a, defineData } from '@aws-amplify/backend';

// Moved from Gen 1 (API id k3bq7vb2xnhvzjbyl4mgqnjnba, env "main"): the
// models keep their Gen 1 tables.
const branchName = process.env.AWS_BRANCH ?? 'sandbox';

const schema = a.schema({
  Todo: a
    .model({
      name: a.string().required(),
      done: a.boolean(),
    })
    .authorization((allow) => [allow.owner()]),
  Project: a
    .model({
      title: a.string(),
      members: a.string().array(),
    })
    .authorization((allow) => [allow.ownersDefinedIn('members'), allow.groups(['Admins'])]),
});

export type Schema = ClientSchema<typeof schema>;

export const data = defineData({
  migratedAmplifyGen1DynamoDbTableMappings: [
    {
      branchName: 'main',
      modelNameToTableNameMapping: {
        Todo: 'Todo-k3bq7vb2xnhvzjbyl4mgqnjnba-main',
        Project: 'Project-k3bq7vb2xnhvzjbyl4mgqnjnba-main',
      },
    },
  ],
  schema,
  authorizationModes: { defaultAuthorizationMode: 'userPool' },
});

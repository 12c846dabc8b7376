import { defineData } from '@aws-amplify/backend';

/**
 * The schema written as GraphQL, which defineData accepts as well as
 * a.schema(...): the same @model and @auth rules as a Gen 1 schema.
 */
const todoIndex = 'byStatus';

const schema = /* GraphQL */ `
  type Todo @model @auth(rules: [{ allow: owner }, { allow: private, operations: [read] }]) {
    content: String
    status: String @index(name: "${todoIndex}", sortKeyFields: ["content"])
  }

  type Profile @model @auth(rules: [{ allow: owner, ownerField: "userId", identityClaim: "sub" }]) {
    userId: ID! @primaryKey
    name: String
  }

  type Board @model @auth(rules: [{ allow: owner, ownerField: "editors", identityClaim: "cognito:username" }, { allow: owner }]) {
    id: ID!
    name: String
    editors: [String]
  }

  type Note {
    text: String
  }
`;

export const data = defineData({
  schema,
  authorizationModes: {
    defaultAuthorizationMode: 'userPool',
  },
});

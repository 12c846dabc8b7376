import { type ClientSchema, a, defineData } from '@aws-amplify/backend';

/**
 * The notes app's data. Each model shows one way an owner rule stores who
 * owns an item:
 *   Note     allow.owner()                                  owner = "<sub>::<username>"
 *   Comment  allow.owner().identityClaim('cognito:username') owner = "<username>"
 *   Profile  allow.ownerDefinedIn('userId').identityClaim('sub'), on the primary key
 *   Board    allow.ownersDefinedIn('editors')               editors = ["<sub>::<username>", ...]
 *   Invite   allow.ownerDefinedIn('email').identityClaim('email')
 *   Tag      no owner: signed-in users read, ADMINS write
 */
const schema = a.schema({
  Note: a
    .model({
      title: a.string().required(),
      body: a.string(),
      boardId: a.id(),
    })
    .authorization((allow) => [allow.owner(), allow.group('ADMINS').to(['read', 'delete'])]),

  Comment: a
    .model({
      noteId: a.id().required(),
      text: a.string().required(),
      postedAt: a.datetime().required(),
      author: a.string(),
    })
    .secondaryIndexes((index) => [index('noteId').sortKeys(['postedAt']).name('byNote')])
    .authorization((allow) => [
      allow.owner().identityClaim('cognito:username'),
      allow.ownerDefinedIn('author').identityClaim('cognito:username').to(['read']),
      allow.authenticated().to(['read']),
    ]),

  Profile: a
    .model({
      userId: a.id().required(),
      displayName: a.string(),
      bio: a.string(),
    })
    .identifier(['userId'])
    .authorization((allow) => [allow.ownerDefinedIn('userId').identityClaim('sub'), allow.authenticated().to(['read'])]),

  Board: a
    .model({
      name: a.string().required(),
      editors: a.string().array(),
    })
    .authorization((allow) => [allow.owner(), allow.ownersDefinedIn('editors').to(['read', 'update'])]),

  Invite: a
    .model({
      email: a.string().required(),
      boardId: a.id().required(),
      accepted: a.boolean(),
    })
    .secondaryIndexes((index) => [index('email')])
    .authorization((allow) => [allow.ownerDefinedIn('email').identityClaim('email'), allow.group('ADMINS')]),

  Tag: a
    .model({
      label: a.string().required(),
      color: a.string(),
    })
    .authorization((allow) => [allow.authenticated().to(['read']), allow.group('ADMINS')]),
});

export type Schema = ClientSchema<typeof schema>;

export const data = defineData({
  schema,
  authorizationModes: {
    defaultAuthorizationMode: 'userPool',
  },
});

import { a, defineData } from '@aws-amplify/backend';

/**
 * AI Kit routes beside models, in two schemas joined by a.combine (the
 * routes in one of them: the toolchain refuses conversations in two, whose
 * shared AmplifyAI types would be declared twice):
 *   chat       a.conversation with allow.owner(): the transformer makes
 *              ConversationChat and ConversationMessageChat, owned by owner
 *   support    a.conversation whose owner rule names a claim (which the
 *              conversation transformer does not pass on)
 *   summarize  a.generation: a query to the model, no table
 *   Note       allow.owner()
 *   Ticket     allow.ownerDefinedIn('agent').identityClaim('custom:agent_id')
 */
const notes = a.schema({
  Note: a
    .model({
      title: a.string().required(),
    })
    .authorization((allow) => [allow.owner()]),

  chat: a
    .conversation({
      aiModel: a.ai.model('Claude 3 Haiku'),
      systemPrompt: 'You are a helpful assistant.',
    })
    .authorization((allow) => allow.owner()),

  summarize: a
    .generation({
      aiModel: a.ai.model('Claude 3 Haiku'),
      systemPrompt: 'Summarize the text.',
    })
    .arguments({ text: a.string() })
    .returns(a.string())
    .authorization((allow) => allow.authenticated()),

  support: a
    .conversation({
      aiModel: a.ai.model('Claude 3 Haiku'),
      systemPrompt: 'You answer support questions.',
    })
    .authorization((allow) => allow.owner().identityClaim('sub')),
});

const tickets = a.schema({
  Ticket: a
    .model({
      subject: a.string().required(),
      agent: a.string(),
    })
    .authorization((allow) => [allow.ownerDefinedIn('agent').identityClaim('custom:agent_id')]),
});

export const data = defineData({
  schema: a.combine([notes, tickets]),
  authorizationModes: {
    defaultAuthorizationMode: 'userPool',
  },
});

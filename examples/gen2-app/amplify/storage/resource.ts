import { defineStorage } from '@aws-amplify/backend';

/**
 * The notes' attachments. Each user's files sit in folders named by the
 * user's identity id ({entity_id}), the way Amplify Storage keys them:
 * poolmigrate keeps them the user's across the pool swap (`poolmigrate
 * storage plan` names the route).
 */
export const storage = defineStorage({
  name: 'notesFiles',
  isDefault: true,
  access: (allow) => ({
    'public/*': [
      allow.guest.to(['read']),
      allow.authenticated.to(['read', 'write', 'delete']),
    ],
    'protected/{entity_id}/*': [
      allow.authenticated.to(['read']),
      allow.entity('identity').to(['read', 'write', 'delete']),
    ],
    'private/{entity_id}/*': [allow.entity('identity').to(['read', 'write', 'delete'])],
    'media/avatars/{entity_id}/*': [
      allow.entity('identity').to(['read', 'write', 'delete']),
      allow.groups(['ADMINS']).to(['read']),
    ],
  }),
});

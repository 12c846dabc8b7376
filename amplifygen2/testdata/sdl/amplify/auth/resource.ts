import { defineAuth } from '@aws-amplify/backend';

/**
 * The notes app's users. defineAuth only knows e-mail and phone sign-in;
 * the pool this app brought from Gen 1 signs in by username, which the
 * override in ../backend.ts keeps (as `amplify gen2-migration` wrote it).
 */
export const auth = defineAuth({
  loginWith: {
    email: true,
  },
  userAttributes: {
    email: {
      required: true,
      mutable: true,
    },
  },
  groups: ['ADMINS', 'EDITORS'],
});

/**
 * Events of a person, on stream `user-<id>`. Personal fields hold vault values
 * (see compliance/personal-data-vault.ts), never plaintext, so erasing the person's key
 * erases the data in every copy of the log.
 */
export type UserEvent = { type: 'UserRegistered'; data: { userId: string; email: string } };

export const USER_STREAM_PREFIX = 'user-';
export const userStream = (userId: string) => `${USER_STREAM_PREFIX}${userId}`;

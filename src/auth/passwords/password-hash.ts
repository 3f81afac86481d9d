/** Where a verified password hash goes: sealed with the person's key, in a PasswordSet event on their stream. */
import { UsersService } from '../../accounts/application/users.service';

export async function storePasswordHash(users: UsersService, userId: string, argon2idHash: string): Promise<void> {
  const hash = await users.sealFor(userId, argon2idHash);
  await users.execute(userId, { type: 'SetPassword', data: { hash } }, `user:${userId}`);
}

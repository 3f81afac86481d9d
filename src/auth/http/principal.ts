/**
 * Who an account-API request is from: a person signed in with a session cookie, or a script
 * with a management key of their account. Management keys never carry staff roles.
 */
import type { FastifyRequest } from 'fastify';
import { StaffRole } from '../../accounts/domain/user.events';

export interface Principal {
  userId: string;
  accountId: string;
  roles: readonly StaffRole[];
  via: 'session' | 'management_key';
  sessionId: string | null;
  managementKeyId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by AccountGuard on the account API's routes. */
    principal?: Principal;
  }
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('no principal on this request: is the route guarded by AccountGuard?');
  return request.principal;
}

/**
 * How the account guard authenticates a management key (`Authorization: Bearer tg-mgmt-…`)
 * without the auth context depending on the keys context that owns them: the owner registers
 * its authenticator here when its module starts (the same pattern as ReadModelRebuilders).
 * Until one is registered, every management key is refused.
 */
import { Global, Injectable, Module } from '@nestjs/common';

export interface ManagementKeyIdentity {
  keyId: string;
  accountId: string;
  userId: string;
}

export interface ManagementKeyAuthenticator {
  /** The key's owner, or null for a key that is unknown, revoked or malformed. */
  authenticate(secret: string): Promise<ManagementKeyIdentity | null>;
}

export const MANAGEMENT_KEY_PREFIX = 'tg-mgmt-';

@Injectable()
export class ManagementKeyAuthenticators {
  private authenticator: ManagementKeyAuthenticator | null = null;

  register(authenticator: ManagementKeyAuthenticator): void {
    this.authenticator = authenticator;
  }

  authenticate(secret: string): Promise<ManagementKeyIdentity | null> {
    return this.authenticator ? this.authenticator.authenticate(secret) : Promise.resolve(null);
  }
}

@Global()
@Module({ providers: [ManagementKeyAuthenticators], exports: [ManagementKeyAuthenticators] })
export class ManagementKeyAuthenticatorsModule {}

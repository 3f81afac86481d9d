/**
 * Passkey ceremonies (WebAuthn, with @simplewebauthn/server) and the passkeys of a person.
 * A passkey is state on the person's `user-<id>` stream (PasskeyRegistered / Renamed /
 * Removed, SignedIn carrying the new signature counter); its name is sealed with the person's
 * vault key. The relying party is WEBAUTHN_RP_ID / WEBAUTHN_ORIGIN / WEBAUTHN_RP_NAME.
 *
 * Sign-in is discoverable (no allow list, no email asked): the authenticator hands back the
 * user handle, the user's 16 id bytes, and the credential must be one of that user's passkeys.
 * Its signature is verified before its counter is looked at, so only a genuine signature with
 * a counter that did not move forward (a copied authenticator) is told passkey_counter; the
 * person's decider decides the counter again when the sign-in is appended, so two sign-ins
 * racing with one counter value cannot both pass.
 */
import { isIP } from 'node:net';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type * as SimpleWebAuthn from '@simplewebauthn/server';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { onFirstUse } from '../../platform/on-first-use';
import { CLOCK, Clock } from '../../platform/clock';
import { UsersService } from '../../accounts/application/users.service';
import { Passkey } from '../../accounts/domain/user.decider';
import { CHALLENGE_TTL_SECONDS, PasskeyChallenges } from './passkey-challenges';
import { PasskeyError } from './passkey.errors';
import { PasskeyView, transportsOf } from './passkey.schemas';
import { userHandleOf, userIdOfHandle } from './user-handle';

/** The browser's own timeout for the ceremony, within the challenge's life. */
const CEREMONY_TIMEOUT_MS = CHALLENGE_TTL_SECONDS * 1000;

export interface VerifiedSignIn {
  userId: string;
  credentialId: string;
  counter: number;
}

type RpConfig = Pick<AppConfig, 'WEBAUTHN_RP_ID' | 'WEBAUTHN_ORIGIN' | 'WEBAUTHN_RP_NAME'>;

/** Loaded on the first ceremony (platform/on-first-use.ts). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const webauthn = onFirstUse(() => require('@simplewebauthn/server') as typeof SimpleWebAuthn);

@Injectable()
export class PasskeysService implements OnApplicationBootstrap {
  private readonly log = new Logger('Passkeys');

  constructor(
    @Inject(APP_CONFIG) private readonly config: RpConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly users: UsersService,
    private readonly challenges: PasskeyChallenges,
  ) {}

  onApplicationBootstrap(): void {
    // Browsers refuse an IP address as a relying party: every ceremony would fail in the page.
    if (isIP(this.config.WEBAUTHN_RP_ID) !== 0) {
      this.log.warn(`passkeys cannot work with the relying party ${this.config.WEBAUTHN_RP_ID} (an IP address): set PUBLIC_URL or WEBAUTHN_RP_ID to a host name`);
    }
  }

  async registrationOptions(userId: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const [user, { state }] = await Promise.all([this.users.get(userId), this.users.load(userId)]);
    // The authenticator shows userName to tell the person's accounts apart; it goes to their
    // browser only, never into anything stored here.
    const options = await webauthn().generateRegistrationOptions({
      rpName: this.config.WEBAUTHN_RP_NAME,
      rpID: this.config.WEBAUTHN_RP_ID,
      userID: userHandleOf(userId),
      userName: user.email ?? user.displayName ?? userId,
      userDisplayName: user.displayName ?? user.email ?? '',
      timeout: CEREMONY_TIMEOUT_MS,
      attestationType: 'none',
      excludeCredentials: [...state.passkeys.values()].map((p) => ({ id: p.credentialId, transports: transportsOf(p.transports) })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    await this.challenges.issueRegistration(userId, options.challenge);
    return options;
  }

  async register(userId: string, response: RegistrationResponseJSON, name: string | undefined): Promise<{ id: string; name: string; createdAt: string }> {
    const challenge = challengeOf(response);
    if (!(await this.challenges.takeRegistration(userId, challenge))) {
      throw new PasskeyError('passkey_challenge', 'this registration was not started in this session, was used already, or expired: start again');
    }
    const verified = await webauthn().verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: this.config.WEBAUTHN_ORIGIN,
      expectedRPID: this.config.WEBAUTHN_RP_ID,
      requireUserVerification: false,
    }).catch((err: Error) => refused(err));
    const info = verified.registrationInfo;
    if (!verified.verified || !info) return refused(new Error('the attestation does not verify'));
    const { state } = await this.users.load(userId);
    const label = name ?? `Passkey ${state.passkeys.size + 1}`;
    const registeredAt = this.clock.now().toISOString();
    await this.users.execute(
      userId,
      {
        type: 'RegisterPasskey',
        data: {
          credentialId: info.credential.id,
          publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
          counter: info.credential.counter,
          transports: info.credential.transports ?? response.response.transports ?? [],
          name: await this.users.sealFor(userId, label),
          deviceType: info.credentialDeviceType,
          backedUp: info.credentialBackedUp,
          registeredAt,
        },
      },
      `user:${userId}`,
    );
    return { id: info.credential.id, name: label, createdAt: registeredAt };
  }

  /** Options for a discoverable sign-in, and the ceremony id the browser keeps for it. */
  async loginOptions(): Promise<{ options: PublicKeyCredentialRequestOptionsJSON; ceremonyId: string }> {
    const options = await webauthn().generateAuthenticationOptions({
      rpID: this.config.WEBAUTHN_RP_ID,
      userVerification: 'preferred',
      allowCredentials: [],
      timeout: CEREMONY_TIMEOUT_MS,
    });
    const ceremonyId = await this.challenges.issueLogin(options.challenge);
    return { options, ceremonyId };
  }

  /** Verifies a sign-in assertion; the caller records it (SessionsService.signIn, which appends SignedIn). */
  async verifyLogin(ceremonyId: string | undefined, response: AuthenticationResponseJSON): Promise<VerifiedSignIn> {
    const expected = ceremonyId ? await this.challenges.takeLogin(ceremonyId) : null;
    if (expected === null) throw new PasskeyError('passkey_challenge', 'no sign-in under way in this browser, or it expired: start again');
    const userId = response.response.userHandle ? userIdOfHandle(response.response.userHandle) : null;
    const passkey = userId ? (await this.users.load(userId)).state.passkeys.get(response.id) : undefined;
    if (!userId || !passkey) throw new PasskeyError('passkey_unknown', 'this passkey is not registered here (it may have been removed)');
    const verified = await webauthn().verifyAuthenticationResponse({
      response,
      expectedChallenge: expected,
      expectedOrigin: this.config.WEBAUTHN_ORIGIN,
      expectedRPID: this.config.WEBAUTHN_RP_ID,
      // Counter 0 here: the library compares counters before it checks the signature, and a
      // counter refusal must only ever answer a genuine signature (checked just below).
      credential: { id: passkey.credentialId, publicKey: Buffer.from(passkey.publicKey, 'base64url'), counter: 0, transports: transportsOf(passkey.transports) },
      requireUserVerification: false,
    }).catch((err: Error) => refused(err));
    if (!verified.verified) return refused(new Error('the signature does not verify'));
    const counter = verified.authenticationInfo.newCounter;
    if ((passkey.counter !== 0 || counter !== 0) && counter <= passkey.counter) {
      throw new PasskeyError('passkey_counter', 'this passkey signed with a counter it used before: it may have been copied');
    }
    return { userId, credentialId: passkey.credentialId, counter };
  }

  async list(userId: string): Promise<PasskeyView[]> {
    const { state } = await this.users.load(userId);
    const keys = [...state.passkeys.values()].sort((a, b) => a.registeredAt.localeCompare(b.registeredAt) || a.credentialId.localeCompare(b.credentialId));
    return Promise.all(keys.map((p) => this.view(userId, p)));
  }

  async rename(userId: string, credentialId: string, name: string): Promise<PasskeyView> {
    const state = await this.users.execute(userId, { type: 'RenamePasskey', data: { credentialId, name: await this.users.sealFor(userId, name) } }, `user:${userId}`);
    const key = state.passkeys.get(credentialId);
    if (!key) throw new Error(`passkey ${credentialId} vanished while being renamed`); // the decider refuses an unknown one first
    return { ...(await this.view(userId, key)), name };
  }

  async remove(userId: string, credentialId: string): Promise<void> {
    await this.users.execute(userId, { type: 'RemovePasskey', data: { credentialId } }, `user:${userId}`);
  }

  private async view(userId: string, p: Passkey): Promise<PasskeyView> {
    return {
      id: p.credentialId,
      name: await this.users.openFor(userId, p.name),
      createdAt: p.registeredAt,
      lastUsedAt: p.lastUsedAt,
      deviceType: p.deviceType,
      backedUp: p.backedUp,
    };
  }
}

/** The challenge a response's client data names; a response whose client data is unreadable is refused. */
function challengeOf(response: { response: { clientDataJSON: string } }): string {
  try {
    const data = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    if (typeof data.challenge === 'string' && data.challenge.length > 0 && data.challenge.length <= 512) return data.challenge;
  } catch {
    // answered below
  }
  throw new PasskeyError('passkey_invalid', 'the response has no readable client data');
}

function refused(err: Error): never {
  // The library's message says which check failed (origin, RP, signature): useful to whoever
  // integrates a client, and it names nothing personal.
  throw new PasskeyError('passkey_invalid', `the passkey response does not verify: ${err.message}`);
}

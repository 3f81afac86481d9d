/**
 * A software passkey authenticator for tests at the API level: nid-webauthn-emulator (a CTAP2
 * authenticator with ES256 keys and a "none" attestation, plus the browser's part: the client
 * data, the origin and RP checks) behind the two calls a browser page makes, create and get.
 * Its answers are the real WebAuthn wire format, verified by the gateway like any browser's.
 *
 * Each instance has its own credential store (the package's default store is shared by every
 * emulator in the process). Like a platform authenticator, one instance holds one credential
 * per user and RP: two passkeys of one person are two instances (a phone and a laptop).
 *
 * The abuse cases are built from real parts as well: `clone()` is a copied authenticator
 * (same keys, same counters), `phishedBy(origin)` the same keys answering a look-alike site's
 * challenge for its own RP, `rebind()` a registration replayed with another ceremony's
 * challenge ("none" attestation signs nothing of the client data).
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import {
  AuthenticatorEmulator,
  PasskeysCredentialsMemoryRepository,
  RpId,
  WebAuthnEmulator,
  deserializeCredential,
  serializeCredential,
} from 'nid-webauthn-emulator';

export class SoftwareAuthenticator {
  readonly store: PasskeysCredentialsMemoryRepository;
  private readonly emulator: WebAuthnEmulator;

  /** `origin`: where the page that calls this authenticator was loaded from. */
  constructor(
    readonly origin: string,
    store = new PasskeysCredentialsMemoryRepository(),
  ) {
    this.store = store;
    this.emulator = new WebAuthnEmulator(new AuthenticatorEmulator({ credentialsRepository: store }));
  }

  /** navigator.credentials.create() on the page: a registration response. Throws as a browser would (DOMException). */
  create(options: PublicKeyCredentialCreationOptionsJSON): RegistrationResponseJSON {
    return this.emulator.createJSON(this.origin, options);
  }

  /** navigator.credentials.get() on the page: an assertion from this authenticator's credential for the RP. */
  get(options: PublicKeyCredentialRequestOptionsJSON): AuthenticationResponseJSON {
    return this.emulator.getJSON(this.origin, options);
  }

  /** The base64url ids of the credentials this authenticator holds. */
  credentialIds(): string[] {
    return this.store.loadCredentials().map((c) => Buffer.from(c.publicKeyCredentialDescriptor.id).toString('base64url'));
  }

  /** A second authenticator with this one's keys and counters, as if its storage were copied. */
  clone(): SoftwareAuthenticator {
    const store = new PasskeysCredentialsMemoryRepository();
    for (const c of this.store.loadCredentials()) store.saveCredential(deserializeCredential(serializeCredential(c)));
    return new SoftwareAuthenticator(this.origin, store);
  }

  /**
   * These keys, scoped to the RP of `origin` and called from there: what a look-alike site
   * would obtain if an authenticator let it use another site's credentials. Its assertions
   * carry that site's origin and RP id hash, with a genuine signature.
   */
  phishedBy(origin: string): SoftwareAuthenticator {
    const rpId = new URL(origin).hostname;
    const store = new PasskeysCredentialsMemoryRepository();
    for (const c of this.store.loadCredentials()) {
      const copy = deserializeCredential(serializeCredential(c));
      store.saveCredential({ ...copy, publicKeyCredentialSource: { ...copy.publicKeyCredentialSource, rpId: new RpId(rpId) } });
    }
    return new SoftwareAuthenticator(origin, store);
  }
}

/** A registration response whose client data names `challenge` (and `origin`) instead: its attestation is unchanged. */
export function rebind(response: RegistrationResponseJSON, challenge: string, origin: string): RegistrationResponseJSON {
  const clientData = { type: 'webauthn.create', challenge, origin, crossOrigin: false };
  return { ...response, response: { ...response.response, clientDataJSON: Buffer.from(JSON.stringify(clientData)).toString('base64url') } };
}

/** The assertion with one bit of its signature flipped: a signature its credential's key never made. */
export function forgeSignature(assertion: AuthenticationResponseJSON): AuthenticationResponseJSON {
  const sig = Buffer.from(assertion.response.signature, 'base64url');
  sig[sig.length - 1] ^= 0x01;
  return { ...assertion, response: { ...assertion.response, signature: sig.toString('base64url') } };
}

/** The assertion claiming another user handle (a user id's 16 bytes, base64url). */
export function withUserHandle(assertion: AuthenticationResponseJSON, userHandle: string): AuthenticationResponseJSON {
  return { ...assertion, response: { ...assertion.response, userHandle } };
}

/**
 * The bodies and answers of the passkey routes. A WebAuthn response is checked for shape and
 * size here (the largest real one is a few kilobytes: a credential id is at most 1023 bytes),
 * so a huge or malformed body is refused before any decoding or signature work; what its
 * fields mean is @simplewebauthn/server's to check.
 */
import type { AuthenticatorTransportFuture } from '@simplewebauthn/server';
import { z } from 'zod';

const b64url = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/, 'base64url');

const CREDENTIAL_ID = b64url(1400);
const KNOWN_TRANSPORTS: ReadonlySet<string> = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);

/** The transports WebAuthn knows today; a newer one a browser reports is dropped, not refused. */
export const transportsOf = (ts: readonly string[]): AuthenticatorTransportFuture[] =>
  ts.filter((t): t is AuthenticatorTransportFuture => KNOWN_TRANSPORTS.has(t));

const transports = z.array(z.string().max(32)).max(16).transform(transportsOf);

export const passkeyName = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[^\p{Cc}]*$/u, 'no control characters');

const credentialEnvelope = {
  id: CREDENTIAL_ID,
  rawId: CREDENTIAL_ID,
  type: z.literal('public-key'),
  // Browsers send null where there is none; the library wants it absent.
  authenticatorAttachment: z
    .enum(['platform', 'cross-platform'])
    .nullish()
    .transform((v) => v ?? undefined),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
};

export const registrationResponse = z.object({
  ...credentialEnvelope,
  response: z.object({
    clientDataJSON: b64url(4096),
    attestationObject: b64url(16_384),
    authenticatorData: b64url(8192).optional(),
    transports: transports.optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: b64url(4096).optional(),
  }),
});

export const authenticationResponse = z.object({
  ...credentialEnvelope,
  response: z.object({
    clientDataJSON: b64url(4096),
    authenticatorData: b64url(8192),
    signature: b64url(1024),
    userHandle: b64url(128)
      .nullish()
      .transform((v) => v ?? undefined),
  }),
});

export const registerVerifyBody = z.object({ response: registrationResponse, name: passkeyName.optional() });
export const loginVerifyBody = z.object({ response: authenticationResponse });
export const renameBody = z.object({ name: passkeyName });

export const passkeyCreated = z.object({ id: z.string(), name: z.string(), createdAt: z.string() });
export const passkeyView = z.object({
  id: z.string(),
  /** Null once the person's data key is erased. */
  name: z.string().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  deviceType: z.enum(['singleDevice', 'multiDevice']),
  backedUp: z.boolean(),
});
export const passkeyList = z.object({ data: z.array(passkeyView) });
export const signedInAnswer = z.object({ userId: z.string() });

export type RegisterVerifyBody = z.infer<typeof registerVerifyBody>;
export type LoginVerifyBody = z.infer<typeof loginVerifyBody>;
export type PasskeyView = z.infer<typeof passkeyView>;

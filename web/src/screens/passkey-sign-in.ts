/**
 * Sign in with a passkey: the API's options (`POST /auth/passkeys/login/options`, which sets the
 * ceremony cookie), the browser's navigator.credentials.get(), and the assertion back to
 * `/auth/passkeys/login/verify`, which sets the session cookie. The WebAuthn JSON helpers of
 * current browsers do the base64url work; a browser without them gets no passkey button.
 */
import { ApiError, request } from '../api/client';

export function passkeysSupported(): boolean {
  // Older browsers lack the JSON helpers (and some lack WebAuthn): typed as possibly absent.
  const pkc = (globalThis as { PublicKeyCredential?: Partial<typeof PublicKeyCredential> }).PublicKeyCredential;
  return typeof pkc?.parseRequestOptionsFromJSON === 'function' && typeof pkc.prototype?.toJSON === 'function';
}

export async function passkeySignIn(): Promise<void> {
  const options = await request<PublicKeyCredentialRequestOptionsJSON>('/auth/passkeys/login/options', { method: 'POST', csrf: false });
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
  let credential: Credential | null;
  try {
    credential = await navigator.credentials.get({ publicKey });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'NotAllowedError') {
      throw new ApiError('passkey_cancelled', 'no passkey was used (the request was cancelled or timed out)', 0);
    }
    throw err;
  }
  if (!(credential instanceof PublicKeyCredential)) throw new ApiError('passkey_cancelled', 'no passkey was used', 0);
  const response: unknown = credential.toJSON(); // lib.dom types it as any
  await request('/auth/passkeys/login/verify', { method: 'POST', body: { response }, csrf: false });
}

/**
 * Why a passkey ceremony was refused. Each code is one condition a client can act on:
 * start the ceremony again (passkey_challenge), tell the authenticator the credential is
 * gone (passkey_unknown, for the WebAuthn signal API), or stop trusting a copied
 * authenticator (passkey_counter). The account API answers all of them 400.
 */
import { DomainError } from '../../shared/domain-error';

export type PasskeyErrorCode =
  /** No live challenge for this ceremony: never issued, already used, expired, or another user's. */
  | 'passkey_challenge'
  /** The response does not verify: malformed, another origin or RP, a wrong signature. */
  | 'passkey_invalid'
  /** The credential is not (or no longer) one of the passkeys of the user it names. */
  | 'passkey_unknown'
  /** A genuine signature whose counter did not increase: the authenticator was cloned. */
  | 'passkey_counter';

export class PasskeyError extends DomainError<PasskeyErrorCode> {
  override readonly name = 'PasskeyError';
}

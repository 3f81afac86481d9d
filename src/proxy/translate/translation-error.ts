/**
 * Why a request in the OpenAI chat format cannot go to another provider. Raised before
 * anything is sent upstream, so nothing is charged; the param names the field at fault, as
 * OpenAI's own 400 answers do.
 */
import type { OpenAIErrorBody } from './openai-wire';

export type TranslationErrorCode = 'unsupported_parameter' | 'invalid_request';

export class TranslationError extends Error {
  constructor(
    readonly code: TranslationErrorCode,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'TranslationError';
  }
}

export const unsupported = (param: string, message: string): TranslationError =>
  new TranslationError('unsupported_parameter', message, param);

export const invalid = (param: string | null, message: string): TranslationError =>
  new TranslationError('invalid_request', message, param);

/** The answer a client in the OpenAI format gets for a refused request (always HTTP 400). */
export function translationErrorToOpenai(err: TranslationError): { status: number; body: OpenAIErrorBody } {
  return { status: 400, body: { error: { message: err.message, type: 'invalid_request_error', param: err.param, code: err.code } } };
}

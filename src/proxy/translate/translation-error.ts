/**
 * Why a request in the OpenAI chat format cannot go to another provider. Raised before
 * anything is sent upstream, so nothing is charged; the param names the field at fault, as
 * OpenAI's own 400 answers do.
 */
import { DomainError } from '../../shared/domain-error';
import { proxyErrorFor } from '../http/domain-error-map';
import { errorBody } from '../http/proxy-error';
import type { OpenAIErrorBody } from './openai-wire';

export type TranslationErrorCode = 'unsupported_parameter' | 'invalid_request';

export class TranslationError extends DomainError<TranslationErrorCode, { param: string | null }> {
  override readonly name = 'TranslationError';

  constructor(code: TranslationErrorCode, message: string, param: string | null = null) {
    super(code, message, { param });
  }

  /** The request field at fault, as OpenAI's own 400 answers name it. */
  get param(): string | null {
    return this.details.param;
  }
}

export const unsupported = (param: string, message: string): TranslationError =>
  new TranslationError('unsupported_parameter', message, param);

export const invalid = (param: string | null, message: string): TranslationError =>
  new TranslationError('invalid_request', message, param);

/** The answer a client in the OpenAI format gets for a refused request (always HTTP 400), as the proxy's mapper words it. */
export function translationErrorToOpenai(err: TranslationError): { status: number; body: OpenAIErrorBody } {
  const answer = proxyErrorFor(err);
  return { status: answer.status, body: errorBody('openai', answer) as OpenAIErrorBody };
}

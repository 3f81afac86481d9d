/** How every screen shows a failure: the API's own message (and its code, for support), announced to screen readers. */
import { ApiError } from '../api/client';

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : 'something went wrong';
  const code = error instanceof ApiError ? error.code : null;
  return (
    <p class="error" role="alert">
      {message}
      {code && <span class="error-code"> ({code})</span>}
    </p>
  );
}

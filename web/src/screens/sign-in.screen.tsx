/**
 * Signing in: a magic link by mail (`POST /auth/magic-link`; the mail's link opens the API's own
 * confirmation page, whose button signs in and comes back to `/`), and a passkey where the
 * browser has one. The API lists no configured OAuth/OIDC providers yet, so their buttons wait
 * for a route that says which exist (web/README.md).
 */
import { useState } from 'preact/hooks';
import { request } from '../api/client';
import { ErrorMessage } from '../components/error-message';
import { passkeySignIn, passkeysSupported } from './passkey-sign-in';

type State = { step: 'form' } | { step: 'sending' } | { step: 'sent'; email: string; message: string };

export function SignInScreen() {
  const [email, setEmail] = useState('');
  const [state, setState] = useState<State>({ step: 'form' });
  const [error, setError] = useState<unknown>(null);
  const [passkeyBusy, setPasskeyBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setState({ step: 'sending' });
    try {
      const answer = await request<{ message: string }>('/auth/magic-link', { method: 'POST', body: { email }, csrf: false });
      setState({ step: 'sent', email, message: answer.message });
    } catch (err) {
      setError(err);
      setState({ step: 'form' });
    }
  };

  const withPasskey = async () => {
    setError(null);
    setPasskeyBusy(true);
    try {
      await passkeySignIn();
      location.assign('/');
    } catch (err) {
      setError(err);
    } finally {
      setPasskeyBusy(false);
    }
  };

  return (
    <main class="sign-in" id="main">
      <h1>Sign in to Tollgate</h1>
      {state.step === 'sent' ? (
        <section aria-live="polite" data-state="sent">
          <h2>Check your mail</h2>
          <p>{state.message}</p>
          <p>
            We sent it to <strong>{state.email}</strong>. Open the link on this device and press its button.
          </p>
          <button type="button" class="link" onClick={() => setState({ step: 'form' })}>
            Use another address
          </button>
        </section>
      ) : (
        <form onSubmit={(e) => void submit(e)}>
          <label for="email">Email address</label>
          <input
            id="email"
            type="email"
            autocomplete="email webauthn"
            required
            maxLength={320}
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
          <button type="submit" disabled={state.step === 'sending'} aria-busy={state.step === 'sending'}>
            {state.step === 'sending' ? 'Sending…' : 'Email me a sign-in link'}
          </button>
        </form>
      )}
      {passkeysSupported() && state.step !== 'sent' && (
        <p class="or">
          <button type="button" class="secondary" onClick={() => void withPasskey()} disabled={passkeyBusy} aria-busy={passkeyBusy}>
            Sign in with a passkey
          </button>
        </p>
      )}
      <ErrorMessage error={error} />
    </main>
  );
}

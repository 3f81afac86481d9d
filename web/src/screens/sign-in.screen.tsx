/**
 * Signing in, with every method this gateway has on (`GET /auth/methods`): a button per OAuth /
 * OIDC provider (a plain link to its start route: the browser goes to the provider and comes
 * back signed in, or to `/?signin_error=…` when the person declined there), a magic link by mail
 * (`POST /auth/magic-link`; the mail's link opens the API's own confirmation page), email and
 * password when AUTH_PASSWORDS is on (`POST /auth/login`, and `POST /auth/signup`, which mails a
 * link that confirms the address), and a passkey where the browser has one. Until the methods
 * are known (or if they cannot be read) the link by mail and passkeys are offered, as before.
 */
import { useState } from 'preact/hooks';
import { ApiError, request, resetSession } from '../api/client';
import { useApi } from '../api/use-api';
import { ErrorMessage } from '../components/error-message';
import { passkeySignIn, passkeysSupported } from './passkey-sign-in';

interface SignInMethods {
  magicLink: boolean;
  passkey: boolean;
  password: boolean;
  passwordSignUp: boolean;
  providers: Array<{ id: string; name: string; startUrl: string }>;
}

type State = { step: 'form' } | { step: 'sending' } | { step: 'sent'; email: string; message: string };

const DECLINED: Record<string, string> = {
  access_denied: 'signing in at the provider was cancelled, so you are not signed in',
  provider_error: 'the provider could not sign you in; try again, or use another way below',
};

/** The reason the OAuth callback sent the browser back with (`/?signin_error=…`), once: the address is cleaned. */
function declinedAtProvider(): ApiError | null {
  const params = new URLSearchParams(location.search);
  const reason = params.get('signin_error');
  if (!reason) return null;
  params.delete('signin_error');
  const rest = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`);
  // Only the callback's own reasons are named: the address bar is anyone's to write.
  const code = Object.prototype.hasOwnProperty.call(DECLINED, reason) ? reason : 'provider_error';
  return new ApiError(code, DECLINED[code], 0);
}

export function SignInScreen() {
  const methods = useApi<SignInMethods>('/auth/methods');
  const [email, setEmail] = useState('');
  const [state, setState] = useState<State>({ step: 'form' });
  const [error, setError] = useState<unknown>(() => declinedAtProvider());
  const [passkeyBusy, setPasskeyBusy] = useState(false);

  const m = methods.data;
  const magicLink = m?.magicLink ?? true;
  const passkey = (m?.passkey ?? true) && passkeysSupported();

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
    <main class="sign-in" id="main" data-ready={m || methods.error ? 'sign-in' : undefined}>
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
        <>
          {m && m.providers.length > 0 && (
            <ul class="providers" aria-label="Sign in with a provider">
              {m.providers.map((p) => (
                <li key={p.id}>
                  {/* A full navigation, not fetch: the provider's page takes over, then sends the browser back. */}
                  <a class="button secondary" href={p.startUrl}>
                    Sign in with {p.name}
                  </a>
                </li>
              ))}
            </ul>
          )}
          {magicLink && (
            <form aria-label="Sign in with a link by mail" onSubmit={(e) => void submit(e)}>
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
          {m?.password && <PasswordForm signUp={m.passwordSignUp} onError={setError} onSent={(address, message) => setState({ step: 'sent', email: address, message })} />}
        </>
      )}
      {passkey && state.step !== 'sent' && (
        <p class="or">
          <button type="button" class="secondary" onClick={() => void withPasskey()} disabled={passkeyBusy} aria-busy={passkeyBusy}>
            Sign in with a passkey
          </button>
        </p>
      )}
      <ErrorMessage error={error ?? (methods.error && !m ? methods.error : null)} />
    </main>
  );
}

/**
 * Email and password: sign in (`POST /auth/login`: a wrong password and an unknown address get
 * the same 401), or, where mail can be sent, create an account (`POST /auth/signup`: a link by
 * mail confirms the address; the password is set when it is used).
 */
function PasswordForm({ signUp, onError, onSent }: { signUp: boolean; onError: (err: unknown) => void; onSent: (email: string, message: string) => void }) {
  const [mode, setMode] = useState<'sign-in' | 'sign-up'>('sign-in');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const creating = signUp && mode === 'sign-up';

  const submit = async (e: Event) => {
    e.preventDefault();
    onError(null);
    setBusy(true);
    try {
      if (creating) {
        const answer = await request<{ message: string }>('/auth/signup', { method: 'POST', body: { email, password }, csrf: false });
        onSent(email, answer.message);
      } else {
        await request('/auth/login', { method: 'POST', body: { email, password }, csrf: false });
        resetSession();
        location.assign('/');
        return; // the page is leaving: stay busy
      }
    } catch (err) {
      onError(err);
    }
    setBusy(false);
  };

  const title = creating ? 'Create an account with a password' : 'Sign in with a password';
  return (
    <form class="password" aria-label={title} onSubmit={(e) => void submit(e)}>
      <h2>{creating ? 'Create an account' : 'Or with your password'}</h2>
      <label for="password-email">Email address</label>
      <input id="password-email" type="email" autocomplete="username" required maxLength={320} value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      <label for="password">Password</label>
      <input
        id="password"
        type="password"
        autocomplete={creating ? 'new-password' : 'current-password'}
        required
        maxLength={1024}
        value={password}
        onInput={(e) => setPassword(e.currentTarget.value)}
      />
      <button type="submit" disabled={busy} aria-busy={busy}>
        {busy ? (creating ? 'Sending…' : 'Signing in…') : creating ? 'Create account' : 'Sign in'}
      </button>
      {signUp && (
        <p>
          <button type="button" class="link" onClick={() => setMode(creating ? 'sign-in' : 'sign-up')}>
            {creating ? 'I have an account: sign in' : 'No account yet? Create one with a password'}
          </button>
        </p>
      )}
    </form>
  );
}

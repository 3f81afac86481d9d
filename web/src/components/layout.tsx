/**
 * The frame of every signed-in screen: a skip link, the header with the navigation (a plain
 * list of links that wraps at 360 px rather than hiding behind a menu button), the assistant,
 * sign-out, and the <main> the screen renders into.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { request, resetSession } from '../api/client';
import type { Me } from '../api/types';
import { Link, match } from '../router';
import { SCREENS } from '../screens';
import { AssistantButton } from './assistant-button';
import { ErrorMessage } from './error-message';

export function Layout({ me, path, children }: { me: Me; path: string; children: ComponentChildren }) {
  const [error, setError] = useState<unknown>(null);
  const signOut = async () => {
    try {
      await request('/auth/logout', { method: 'POST' });
      resetSession();
      location.assign('/');
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          Tollgate
        </Link>
        <nav aria-label="Main">
          <ul>
            {SCREENS.filter((s) => s.nav).map((s) => {
              const here = match(s.path, path) !== null || (s.path !== '/' && path.startsWith(`${s.path}/`));
              return (
                <li key={s.path}>
                  <Link href={s.path} aria-current={here ? 'page' : undefined}>
                    {s.title}
                  </Link>
                </li>
              );
            })}
            {me.roles.length > 0 && (
              <li>
                <Link href="/console" aria-current={path === '/console' ? 'page' : undefined}>
                  Staff console
                </Link>
              </li>
            )}
          </ul>
        </nav>
        <div class="who">
          <AssistantButton />
          <span class="email">{me.displayName ?? me.email ?? 'Signed in'}</span>
          <button type="button" class="link" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <ErrorMessage error={error} />
      <main id="main">{children}</main>
    </>
  );
}

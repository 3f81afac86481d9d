/**
 * The frame of a public screen seen signed out (the price list): the same header as the signed-in
 * layout, with the public screens and a sign-in link instead of the whole navigation and the
 * person's name. `/` shows the sign-in screen to someone signed out.
 */
import type { ComponentChildren } from 'preact';
import { Link, match } from '../router';
import { SCREENS } from '../screens';

export function PublicLayout({ path, children }: { path: string; children: ComponentChildren }) {
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a href="/" class="brand">
          Tollgate
        </a>
        <nav aria-label="Main">
          <ul>
            {SCREENS.filter((s) => s.public).map((s) => (
              <li key={s.path}>
                <Link href={s.path} aria-current={match(s.path, path) ? 'page' : undefined}>
                  {s.title}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          {/* A full load, not <Link>: the app decides again who is signed in. */}
          <a href="/">Sign in</a>
        </div>
      </header>
      <main id="main">{children}</main>
    </>
  );
}

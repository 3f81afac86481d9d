/**
 * The app shell: who is signed in (`GET /api/me`; 401 means nobody, so the sign-in screen),
 * then the layout around the screen the path names. Screens load as their own chunks
 * (screens.ts); while one loads the previous one stays, so navigation never flashes blank.
 */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, onSignedOut } from './api/client';
import type { Me } from './api/types';
import { useApi } from './api/use-api';
import { ErrorMessage } from './components/error-message';
import { Layout } from './components/layout';
import { PublicLayout } from './components/public-layout';
import { SCREENS, Screen, ScreenProps } from './screens';
import { match, usePath } from './router';
import { SignInScreen } from './screens/sign-in.screen';

function routeOf(path: string): { screen: Screen; params: Record<string, string> } | null {
  for (const screen of SCREENS) {
    const params = match(screen.path, path);
    if (params) return { screen, params };
  }
  return null;
}

export function App() {
  const me = useApi<Me>('/api/me');
  // A session that ends while a screen is open (signed out elsewhere, expired) shows the sign-in
  // screen, not an error on that screen. Signing in again reloads the page, which starts afresh.
  const [ended, setEnded] = useState(false);
  useEffect(() => onSignedOut(() => setEnded(true)), []);
  const path = usePath();
  if (ended || (me.error instanceof ApiError && me.error.code === 'unauthenticated')) {
    // A public screen (the price list) is shown to anyone; every other path asks to sign in.
    return routeOf(path)?.screen.public ? <Shell me={null} /> : <SignInScreen />;
  }
  if (me.loading && !me.data) return <p class="boot" aria-busy="true">Loading…</p>;
  if (me.error || !me.data) {
    return (
      <main class="boot">
        <h1>Tollgate</h1>
        <ErrorMessage error={me.error} />
        <button type="button" onClick={me.reload}>
          Try again
        </button>
      </main>
    );
  }
  return <Shell me={me.data} />;
}

/** The screen the path names, in the signed-in layout, or (signed out, public screens only) the public one. */
function Shell({ me }: { me: Me | null }) {
  const path = usePath();
  const route = routeOf(path);
  const [loaded, setLoaded] = useState<{ path: string; Component: ComponentType<ScreenProps> } | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);

  useEffect(() => {
    if (!route) return;
    let current = true;
    document.title = `${route.screen.title} · Tollgate`;
    setLoadError(null);
    route.screen.load().then(
      (Component) => current && setLoaded({ path, Component }),
      (err: unknown) => current && setLoadError(new Error(`this screen could not be loaded (${String(err)}); reload the page`)),
    );
    return () => {
      current = false;
    };
  }, [path]);

  // Keyboard and screen-reader users land on the new screen's heading, not at the old position.
  useEffect(() => {
    if (loaded?.path === path) document.querySelector<HTMLElement>('main h1')?.focus();
  }, [loaded]);

  let content;
  if (!route) {
    content = (
      <>
        <h1 tabIndex={-1}>Not found</h1>
        <p>There is no page at {path}.</p>
      </>
    );
  } else if (loadError) content = <ErrorMessage error={loadError} />;
  else if (loaded) content = <loaded.Component key={loaded.path} params={route && loaded.path === path ? route.params : {}} />;
  else content = <p aria-busy="true">Loading…</p>;
  if (!me) return <PublicLayout path={path}>{content}</PublicLayout>;
  return (
    <Layout me={me} path={path}>
      {content}
    </Layout>
  );
}

/**
 * What a person sees of a sign-in link: the mail, and the small page the link opens. The page
 * is self-contained (no script, no remote style, font or image; a CSP that allows none), keeps
 * the token out of any Referer, and only its button, a POST, uses the link: mail scanners that
 * open links use nothing.
 */
export const VERIFY_PATH = '/auth/magic-link/verify';

/** Headers of every page here: never cached, never framed, never sending the token onwards. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
} as const;

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE =
  'body{font-family:system-ui,sans-serif;background:#f6f7f9;color:#1d2330;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}' +
  'main{background:#fff;border-radius:12px;padding:2rem 2.5rem;max-width:26rem;box-shadow:0 1px 4px rgba(0,0,0,.08)}' +
  'h1{font-size:1.3rem;margin:0 0 .75rem}p{line-height:1.5}' +
  'button{font:inherit;font-weight:600;background:#2f5bea;color:#fff;border:0;border-radius:8px;padding:.7rem 1.4rem;cursor:pointer}';

function page(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>` +
    `<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`
  );
}

/** The page a link opens: a button that POSTs the token. */
export function confirmPage(token: string): string {
  return page(
    'Sign in to Tollgate',
    `<p>Press the button to finish signing in on this device.</p>` +
      `<form method="post" action="${VERIFY_PATH}"><input type="hidden" name="token" value="${escapeHtml(token)}">` +
      `<button type="submit">Sign in</button></form>`,
  );
}

export function invalidLinkPage(): string {
  return page(
    'This link cannot be used',
    '<p>It has expired, it was already used, or it is incomplete. Sign-in links work once, for a short time.</p>' +
      '<p>Ask for a new link where you signed in.</p>',
  );
}

export function refusedPage(): string {
  return page('This sign-in was refused', '<p>It did not come from this site. Open the link from your mail again.</p>');
}

export function signInMail(link: string, ttlSeconds: number): { subject: string; text: string; html: string } {
  const minutes = Math.max(1, Math.round(ttlSeconds / 60));
  const text =
    `Sign in to Tollgate with this link:\n\n${link}\n\n` +
    `It works once, within ${minutes} minutes. If you have no account yet, it creates one.\n` +
    `If you did not ask for it, ignore this message: nothing happens unless the link is used.\n`;
  const html =
    `<p>Sign in to Tollgate with this link:</p>` +
    `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>` +
    `<p>It works once, within ${minutes} minutes. If you have no account yet, it creates one.<br>` +
    `If you did not ask for it, ignore this message: nothing happens unless the link is used.</p>`;
  return { subject: 'Your Tollgate sign-in link', text, html };
}

export function signUpMail(link: string, ttlSeconds: number): { subject: string; text: string; html: string } {
  const minutes = Math.max(1, Math.round(ttlSeconds / 60));
  const text =
    `Confirm your address to finish setting your Tollgate password:\n\n${link}\n\n` +
    `It works once, within ${minutes} minutes. If you already have an account, the link sets its new password.\n` +
    `If you did not ask for it, ignore this message: nothing changes unless the link is used.\n`;
  const html =
    `<p>Confirm your address to finish setting your Tollgate password:</p>` +
    `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>` +
    `<p>It works once, within ${minutes} minutes. If you already have an account, the link sets its new password.<br>` +
    `If you did not ask for it, ignore this message: nothing changes unless the link is used.</p>`;
  return { subject: 'Confirm your address for Tollgate', text, html };
}

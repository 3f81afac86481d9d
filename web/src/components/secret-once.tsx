/**
 * A key's secret, shown once (the API never answers it again): selectable text, a copy button,
 * and a plain warning. Closing it forgets the secret.
 */
import { useState } from 'preact/hooks';

export function SecretOnce({ secret, title, onClose }: { secret: string; title: string; onClose: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      setCopied('no');
    }
  };
  return (
    <section class="notice" aria-labelledby="secret-title" data-secret-panel>
      <h2 id="secret-title">{title}</h2>
      <p>Copy it now: it is shown only this once. Anyone holding it can spend this account's credit.</p>
      <code class="secret" data-secret>
        {secret}
      </code>
      <div class="row">
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" class="secondary" onClick={onClose}>
          Done
        </button>
      </div>
      <p role="status" class="sub">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'no' ? 'The browser refused the clipboard: select the key and copy it.' : ''}
      </p>
    </section>
  );
}

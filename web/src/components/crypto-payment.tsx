/**
 * Pay with USDC or USDT: ask for an intent (POST /api/billing/crypto-intents), show the exact
 * amount and the address (as text with copy buttons, and as a QR code of an EIP-681 transfer
 * request that wallets read), then follow the payment to final by polling
 * GET /api/billing/crypto-intents/{id}: pending → seen (confirmations) → credited, or expired /
 * rejected. Only the chains and tokens the gateway is configured for are offered (GET
 * /api/billing/crypto-options); with none, the section is not shown at all.
 */
import { useEffect, useState } from 'preact/hooks';
import { encode } from 'uqr';
import type { CryptoIntent, CryptoOptions } from '../api/billing-types';
import { newIdempotencyKey, request } from '../api/client';
import { toMicros } from '../api/money';
import { useApi } from '../api/use-api';
import { ErrorMessage } from './error-message';

const FINAL = new Set(['credited', 'expired', 'rejected']);
const POLL_MS = 5000;

/** EIP-681: a call of the token's transfer(address, uint256) on that chain; both tokens have 6 decimals, so units = µcr. */
export const transferRequest = (i: CryptoIntent): string =>
  `ethereum:${i.tokenAddress}@${i.chainId}/transfer?address=${i.address}&uint256=${toMicros(i.amount).toString()}`;

const CHAIN_NAMES: Record<string, string> = { base: 'Base', ethereum: 'Ethereum' };
export const chainName = (name: string) => CHAIN_NAMES[name] ?? name;

export function CryptoPayment({ onCredited }: { onCredited: (amount: string) => void }) {
  const options = useApi<CryptoOptions>('/api/billing/crypto-options');
  const chains = options.data?.chains ?? [];
  if (options.error) {
    return (
      <section class="card" aria-labelledby="crypto-title">
        <h2 id="crypto-title">Pay with a stablecoin</h2>
        <ErrorMessage error={options.error} />
      </section>
    );
  }
  if (!options.data) return null;
  // Not offered here: nothing to show (the marker tells a test the answer has come).
  if (chains.length === 0) return <div data-crypto-options="none" hidden />;
  return <CryptoForm chains={chains} onCredited={onCredited} />;
}

function CryptoForm({ chains, onCredited }: { chains: CryptoOptions['chains']; onCredited: (amount: string) => void }) {
  // Base first when offered (cheaper transfers), else the first configured.
  const [chain, setChainState] = useState((chains.find((c) => c.name === 'base') ?? chains[0]).name);
  const tokens = (chains.find((c) => c.name === chain) ?? chains[0]).tokens;
  const [token, setToken] = useState(tokens[0].symbol);
  const symbols = [...new Set(chains.flatMap((c) => c.tokens.map((t) => t.symbol)))];
  const setChain = (name: string) => {
    setChainState(name);
    const offered = (chains.find((c) => c.name === name) ?? chains[0]).tokens;
    if (!offered.some((t) => t.symbol === token)) setToken(offered[0].symbol);
  };
  const [amount, setAmount] = useState('25');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [intent, setIntent] = useState<CryptoIntent | null>(null);
  const [idempotencyKey, setIdempotencyKey] = useState(newIdempotencyKey);
  const changed = (set: (v: string) => void) => (e: { currentTarget: { value: string } }) => {
    set(e.currentTarget.value);
    setIdempotencyKey(newIdempotencyKey());
  };

  const ask = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setIntent(await request<CryptoIntent>('/api/billing/crypto-intents', { method: 'POST', body: { chain, token, amount: amount.trim() }, idempotencyKey }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="crypto-title">
      <h2 id="crypto-title">Pay with {symbols.join(' or ')}</h2>
      {intent ? (
        <PaymentProgress intent={intent} onCredited={onCredited} onDone={() => { setIntent(null); setIdempotencyKey(newIdempotencyKey()); }} />
      ) : (
        <form onSubmit={(e) => void ask(e)}>
          <p class="sub">1 token buys 1 credit; at least 5. You send the exact amount shown from your own wallet.</p>
          <div class="row">
            <div class="grow">
              <label for="crypto-chain">Network</label>
              <select id="crypto-chain" value={chain} onChange={changed(setChain)}>
                {chains.map((c) => (
                  <option key={c.name} value={c.name}>
                    {chainName(c.name)}
                  </option>
                ))}
              </select>
            </div>
            <div class="grow">
              <label for="crypto-token">Token</label>
              <select id="crypto-token" value={token} onChange={changed(setToken)}>
                {tokens.map((t) => (
                  <option key={t.symbol} value={t.symbol}>
                    {t.symbol}
                  </option>
                ))}
              </select>
            </div>
            <div class="grow">
              <label for="crypto-amount">Amount</label>
              <input id="crypto-amount" inputMode="decimal" autoComplete="off" required value={amount} onInput={changed(setAmount)} />
            </div>
          </div>
          <button type="submit" disabled={busy} aria-busy={busy}>
            {busy ? 'Preparing…' : 'Get the payment address'}
          </button>
          <ErrorMessage error={error} />
        </form>
      )}
    </section>
  );
}

function PaymentProgress({ intent: first, onCredited, onDone }: { intent: CryptoIntent; onCredited: (amount: string) => void; onDone: () => void }) {
  const [intent, setIntent] = useState(first);
  const [error, setError] = useState<unknown>(null);
  const status = intent.status ?? 'pending';
  useEffect(() => {
    if (FINAL.has(status)) {
      if (status === 'credited') onCredited(intent.amount);
      return;
    }
    const t = setTimeout(() => {
      request<CryptoIntent>(`/api/billing/crypto-intents/${encodeURIComponent(intent.id)}`).then(
        (i) => {
          setError(null);
          setIntent(i);
        },
        (err: unknown) => {
          setError(err);
          setIntent((i) => ({ ...i })); // poll again
        },
      );
    }, POLL_MS);
    return () => clearTimeout(t);
  }, [intent]);

  const steps: Array<[string, string]> = [
    ['pending', 'Waiting for your transfer'],
    ['seen', `On chain, waiting until final${intent.confirmations != null ? ` (${intent.confirmations} confirmations)` : ''}`],
    ['credited', 'Credited to your balance'],
  ];
  const at = steps.findIndex(([s]) => s === status);
  return (
    <div data-intent={intent.id} data-status={status}>
      <p>
        Send exactly <strong data-crypto-amount>{intent.amount} {intent.token}</strong> on {chainName(intent.chain)} to
      </p>
      <code class="secret" data-crypto-address>
        {intent.address}
      </code>
      <p class="sub">
        before {new Date(intent.expiresAt).toLocaleString()}. Any other amount is not matched to this payment. Token contract: <span class="mono">{intent.tokenAddress}</span>
      </p>
      <CopyButtons intent={intent} />
      <QrCode text={transferRequest(intent)} label={`QR code: send ${intent.amount} ${intent.token} to ${intent.address}`} />
      <ol class="steps" aria-label="Payment progress">
        {steps.map(([s, text], n) => (
          <li key={s} aria-current={n === at ? 'step' : undefined} class={n < at ? 'done' : n === at ? 'now' : ''}>
            {text}
          </li>
        ))}
      </ol>
      <p role="status" aria-busy={!FINAL.has(status)}>
        {status === 'credited' && `Credited: ${intent.amount} credits are on your balance.`}
        {status === 'expired' && 'This payment request expired before a matching transfer arrived. A transfer sent later can still be claimed.'}
        {status === 'rejected' && 'The transfer vanished from the chain (a reorganisation): nothing was credited.'}
        {!FINAL.has(status) && 'Checking the chain every few seconds…'}
      </p>
      {intent.txHash && <p class="sub mono">Transaction {intent.txHash}</p>}
      <ErrorMessage error={error} />
      <button type="button" class="secondary" onClick={onDone}>
        {FINAL.has(status) ? 'New payment' : 'Cancel'}
      </button>
    </div>
  );
}

function CopyButtons({ intent }: { intent: CryptoIntent }) {
  const [copied, setCopied] = useState('');
  const copy = async (what: string, text: string) => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(`${what} copied.`);
    } catch {
      setCopied('The browser refused the clipboard: select the text and copy it.');
    }
  };
  return (
    <div class="row">
      <button type="button" class="secondary" onClick={() => void copy('Amount', intent.amount)}>
        Copy amount
      </button>
      <button type="button" class="secondary" onClick={() => void copy('Address', intent.address)}>
        Copy address
      </button>
      <span role="status" class="sub">
        {copied}
      </span>
    </div>
  );
}

/** The QR code as one SVG path of its dark modules (no canvas, no inline markup from a string). */
function QrCode({ text, label }: { text: string; label: string }) {
  const { data } = encode(text, { ecc: 'M', border: 2 });
  const size = data.length;
  let d = '';
  data.forEach((row, y) => row.forEach((dark, x) => dark && (d += `M${x} ${y}h1v1h-1z`)));
  return (
    <svg class="qr" role="img" aria-label={label} viewBox={`0 0 ${size} ${size}`} width="200" height="200" shape-rendering="crispEdges">
      <rect width={size} height={size} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}

/**
 * Billing: the balance; top up by card (POST /api/billing/checkout, then Stripe's own page) or
 * with USDC/USDT (components/crypto-payment.tsx); redeem a code; the low-balance alert
 * (PATCH /api/me); the transactions and refund requests (components/billing-history.tsx).
 * Stripe sends the person back to /billing?checkout=success|cancel: the credit arrives with
 * Stripe's webhook, so after a success the balance is re-read until it moves (or a minute passes).
 */
import { useEffect, useState } from 'preact/hooks';
import type { MeSettings, Redeemed } from '../api/billing-types';
import { newIdempotencyKey, request } from '../api/client';
import { formatCredits, toMicros } from '../api/money';
import type { Balance } from '../api/types';
import { useApi } from '../api/use-api';
import { BillingHistory } from '../components/billing-history';
import { CryptoPayment } from '../components/crypto-payment';
import { ErrorMessage } from '../components/error-message';

const BEFORE_CHECKOUT = 'tollgate:balance-before-checkout';

/** The balance seen when the person left for Stripe (this tab only), read once and forgotten. */
function takeBalanceBeforeCheckout(): string | null {
  try {
    const v = sessionStorage.getItem(BEFORE_CHECKOUT);
    sessionStorage.removeItem(BEFORE_CHECKOUT);
    return v;
  } catch {
    return null; // storage disabled: the notice says to reload instead
  }
}

const returnedFromStripe = (): 'success' | 'cancel' | null => {
  const v = new URLSearchParams(location.search).get('checkout');
  return v === 'success' || v === 'cancel' ? v : null;
};

export function BillingScreen() {
  const balance = useApi<Balance>('/api/balance');
  const [checkout] = useState(returnedFromStripe);
  const [historyGeneration, setHistoryGeneration] = useState(0);
  const refresh = () => {
    balance.reload();
    setHistoryGeneration((g) => g + 1);
  };
  // A redemption answers the new balance at once (a crypto credit says its amount); the balance read model may lag it by a moment,
  // so re-read (every 500 ms, 20 times at most) until it shows at least that much.
  const [expected, setExpected] = useState<{ micros: bigint; tries: number } | null>(null);
  useEffect(() => {
    if (!expected || !balance.data || toMicros(balance.data.available) >= expected.micros || expected.tries >= 20) return;
    const t = setTimeout(() => {
      setExpected({ ...expected, tries: expected.tries + 1 });
      balance.reload();
    }, 500);
    return () => clearTimeout(t);
  }, [balance.data, expected]);

  // After Stripe's success page the webhook may still be on its way: re-read every 3 s (20 times
  // at most) until the balance differs from the one seen when the person left for Stripe.
  const [before] = useState(takeBalanceBeforeCheckout);
  const [polls, setPolls] = useState(0);
  const moved = before !== null && balance.data !== undefined && balance.data.available !== before;
  const waiting = checkout === 'success' && before !== null && !moved && polls < 20;
  useEffect(() => {
    if (!waiting || !balance.data) return;
    const t = setTimeout(() => {
      setPolls((n) => n + 1);
      refresh();
    }, 3000);
    return () => clearTimeout(t);
  }, [balance.data, waiting]);

  return (
    <>
      <h1 tabIndex={-1}>Billing</h1>
      {checkout === 'success' && (
        <p class="notice" role="status">
          {moved
            ? 'Thank you: your payment is confirmed.'
            : waiting || !balance.data
              ? 'Stripe took your payment; waiting for its confirmation to credit your balance…'
              : 'Stripe took your payment: your balance shows it once Stripe confirms it (usually within a minute; reload to see).'}
        </p>
      )}
      {checkout === 'cancel' && (
        <p class="notice" role="status">
          The card payment was cancelled: nothing was charged.
        </p>
      )}
      <ErrorMessage error={balance.error} />
      <dl class="figures" data-ready={balance.data ? 'billing' : undefined}>
        <div>
          <dt>Available credit</dt>
          <dd data-figure="available">{balance.data ? formatCredits(balance.data.available) : '…'}</dd>
        </div>
        <div>
          <dt>Held by requests under way</dt>
          <dd>{balance.data ? formatCredits(balance.data.held) : '…'}</dd>
        </div>
        <div>
          <dt>Set aside for refunds</dt>
          <dd>{balance.data ? formatCredits(balance.data.frozen) : '…'}</dd>
        </div>
      </dl>
      <CardTopUp available={balance.data?.available ?? null} />
      <CryptoPayment
        onCredited={(amount) => {
          if (balance.data) setExpected({ micros: toMicros(balance.data.available) + toMicros(amount), tries: 0 });
          refresh();
        }}
      />
      <RedeemCode
        onRedeemed={(available) => {
          setExpected({ micros: toMicros(available), tries: 0 });
          refresh();
        }}
      />
      <LowBalanceAlert />
      <BillingHistory generation={historyGeneration} onRequested={refresh} />
    </>
  );
}

function CardTopUp({ available }: { available: string | null }) {
  const [amount, setAmount] = useState('25.00');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [idempotencyKey, setIdempotencyKey] = useState(newIdempotencyKey);
  const pay = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await request<{ url: string; id: string }>('/api/billing/checkout', { method: 'POST', body: { amount: amount.trim() }, idempotencyKey });
      try {
        if (available !== null) sessionStorage.setItem(BEFORE_CHECKOUT, available);
      } catch {
        // storage disabled: the success notice cannot tell when the credit arrived, and says so
      }
      location.assign(session.url);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <form class="card" onSubmit={(e) => void pay(e)} aria-labelledby="card-title">
      <h2 id="card-title">Top up by card</h2>
      <p class="sub">$1 buys 1 credit; at least $5.00. You pay on Stripe's page and come back here.</p>
      <div class="row">
        <div class="grow">
          <label for="card-amount">Amount in dollars</label>
          <input id="card-amount" inputMode="decimal" autoComplete="off" required value={amount} onInput={(e) => { setAmount(e.currentTarget.value); setIdempotencyKey(newIdempotencyKey()); }} />
        </div>
        <button type="submit" disabled={busy} aria-busy={busy}>
          {busy ? 'Opening Stripe…' : 'Pay by card'}
        </button>
      </div>
      <ErrorMessage error={error} />
    </form>
  );
}

function RedeemCode({ onRedeemed }: { onRedeemed: (available: string) => void }) {
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<Redeemed | null>(null);
  const redeem = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const answer = await request<Redeemed>('/api/billing/redeem', { method: 'POST', body: { code: code.trim() } });
      setDone(answer);
      setCode('');
      onRedeemed(answer.available);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card" onSubmit={(e) => void redeem(e)} aria-labelledby="redeem-title">
      <h2 id="redeem-title">Redeem a code</h2>
      <div class="row">
        <div class="grow">
          <label for="redeem-code">Code</label>
          <input id="redeem-code" required maxLength={64} autoComplete="off" spellcheck={false} value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        </div>
        <button type="submit" disabled={busy} aria-busy={busy}>
          {busy ? 'Redeeming…' : 'Redeem'}
        </button>
      </div>
      <p role="status" class="sub">
        {done ? `Redeemed ${formatCredits(done.amount)}: your balance is now ${formatCredits(done.available)}.` : ''}
      </p>
      <ErrorMessage error={error} />
    </form>
  );
}

function LowBalanceAlert() {
  const me = useApi<MeSettings>('/api/me');
  const [value, setValue] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState('');
  const current = me.data?.lowBalanceAlert ?? null;
  const shown = value ?? (current === null ? '' : formatCredits(current).replace(/^\$/, '').replace(/,/g, ''));
  const save = async (threshold: string | null) => {
    setBusy(true);
    setError(null);
    setSaved('');
    try {
      await request('/api/me', { method: 'PATCH', body: { lowBalanceAlert: threshold } });
      setValue(null);
      me.reload();
      setSaved(threshold === null ? 'The alert is off.' : `You will get an email when your balance falls below ${formatCredits(threshold)}.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card" aria-labelledby="alert-title" onSubmit={(e) => { e.preventDefault(); void save(shown.trim()); }}>
      <h2 id="alert-title">Low-balance alert</h2>
      <p class="sub">{current === null ? 'Off: no email is sent when your balance runs low.' : `On: an email when your balance falls below ${formatCredits(current)}.`}</p>
      <div class="row">
        <div class="grow">
          <label for="alert-threshold">Alert below (credits)</label>
          <input id="alert-threshold" inputMode="decimal" autoComplete="off" required value={shown} onInput={(e) => setValue(e.currentTarget.value)} />
        </div>
        <button type="submit" disabled={busy} aria-busy={busy}>
          {busy ? 'Saving…' : 'Save alert'}
        </button>
        {current !== null && (
          <button type="button" class="secondary" disabled={busy} onClick={() => void save(null)}>
            Turn off
          </button>
        )}
      </div>
      <p role="status" class="sub">
        {saved}
      </p>
      <ErrorMessage error={error ?? me.error} />
    </form>
  );
}

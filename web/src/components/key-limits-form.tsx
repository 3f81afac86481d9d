/**
 * A key's limits as a form, in the shape `POST /api/projects/{id}/keys` and `PATCH
 * /api/keys/{id}` take: an empty field is no limit (null), so the API checks every value and
 * its message names the field it refuses.
 */
import { useState } from 'preact/hooks';
import type { KeyLimits } from '../api/types';

export interface LimitsBody {
  models: string[] | null;
  spendCap: string | null;
  expiresAt: string | null;
  rpm: number | null;
  tpm: number | null;
}

interface Fields {
  models: string;
  spendCap: string;
  expiresAt: string;
  rpm: string;
  tpm: string;
}

const fieldsOf = (l?: KeyLimits): Fields => ({
  models: l?.models?.join(', ') ?? '',
  spendCap: l?.spendCap ?? '',
  expiresAt: l?.expiresAt ? l.expiresAt.slice(0, 10) : '',
  rpm: l?.rpm?.toString() ?? '',
  tpm: l?.tpm?.toString() ?? '',
});

// A number field left as typed when it is not a whole number, so the API's message says why.
const count = (s: string): number | null => (s.trim() === '' ? null : Number(s.trim()));

export function bodyOf(f: Fields): LimitsBody {
  const models = f.models.split(',').map((m) => m.trim()).filter(Boolean);
  return {
    models: models.length ? models : null,
    spendCap: f.spendCap.trim() || null,
    // A date means the end of that UTC day.
    expiresAt: f.expiresAt ? `${f.expiresAt}T23:59:59Z` : null,
    rpm: count(f.rpm),
    tpm: count(f.tpm),
  };
}

export function KeyLimitsFields({ idPrefix, initial, onChange }: { idPrefix: string; initial?: KeyLimits; onChange: (body: LimitsBody) => void }) {
  const [f, setF] = useState<Fields>(() => fieldsOf(initial));
  const set = (k: keyof Fields) => (e: { currentTarget: HTMLInputElement }) => {
    const next = { ...f, [k]: e.currentTarget.value };
    setF(next);
    onChange(bodyOf(next));
  };
  const field = (k: keyof Fields, label: string, props: Record<string, unknown> = {}) => (
    <div class="grow">
      <label for={`${idPrefix}-${k}`}>{label}</label>
      <input id={`${idPrefix}-${k}`} value={f[k]} onInput={set(k)} {...props} />
    </div>
  );
  return (
    <fieldset class="row" style={{ border: 0, padding: 0, margin: 0 }}>
      <legend class="sub">Limits (leave empty for none)</legend>
      {field('spendCap', 'Spending cap (credits)', { inputMode: 'decimal', placeholder: 'e.g. 25' })}
      {field('rpm', 'Requests per minute', { inputMode: 'numeric' })}
      {field('tpm', 'Tokens per minute', { inputMode: 'numeric' })}
      {field('models', 'Models (comma-separated)', { placeholder: 'all models' })}
      {field('expiresAt', 'Expires (end of UTC day)', { type: 'date' })}
    </fieldset>
  );
}

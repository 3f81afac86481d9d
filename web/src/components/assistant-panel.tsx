/**
 * The assistant panel: a modal drawer (a native <dialog>: Escape closes it, the page behind is
 * inert, focus stays inside) where a person asks about their own account (`POST /api/assistant`,
 * README "The dashboard assistant"). Before the first question it says where the conversation
 * goes (the model and provider of `GET /api/assistant`) and that Tollgate keeps none of it.
 *
 * The conversation lives in this component's state only: never localStorage, sessionStorage or
 * a cookie. It survives closing the panel and moving between screens (the layout keeps the panel
 * mounted), and is gone on reload. Each question sends the whole conversation, as the API wants.
 * The answer is drawn as its `text` events arrive; `tool` events show what was looked up; an
 * `error` event or a refusal shows the API's message; Stop aborts the request (the API then
 * stops the model and bills only what was delivered).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, stream } from '../api/client';
import { readSse } from '../api/sse';
import { useApi } from '../api/use-api';
import { ErrorMessage } from './error-message';

interface AssistantInfo {
  model: string;
  provider: string | null;
}

type Part = { kind: 'text'; text: string } | { kind: 'tool'; name: string; status: string };

type Turn =
  | { role: 'user'; content: string }
  | { role: 'assistant'; parts: Part[]; state: 'streaming' | 'done' | 'stopped' | 'failed'; error?: ApiError };

const PROVIDERS: Record<string, string> = {
  openai: 'OpenAI',
  anthropic: 'Anthropic',
  gemini: 'Google',
  xai: 'xAI',
  'openai-compatible': 'an OpenAI-compatible provider',
};

const TOOLS: Record<string, string> = {
  get_balance: 'your balance',
  get_usage: 'your usage',
  list_recent_requests: 'your recent requests',
  list_keys: 'your projects and keys',
  get_prices: 'the prices',
  how_to_call: 'how to call a model here',
};

function toolNote(name: string, status: string): string {
  const what = TOOLS[name];
  if (status === 'ok') return `Looked up ${what ?? name}`;
  if (status === 'unknown_tool') return `The model asked for a tool this assistant does not have (${name}); nothing was done`;
  if (status === 'bad_arguments') return `The model asked for ${what ?? name} in a way the assistant refused`;
  return `Could not look up ${what ?? name}`;
}

const textOf = (parts: Part[]) => parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');

/** What the API is sent: every turn's words; an answer that produced none (failed at once) is left out. */
function history(turns: Turn[]): Array<{ role: 'user' | 'assistant'; content: string }> {
  const out: Array<{ role: 'user' | 'assistant'; content: string }> = [];
  for (const t of turns) {
    if (t.role === 'user') out.push({ role: 'user', content: t.content });
    else if (textOf(t.parts) !== '') out.push({ role: 'assistant', content: textOf(t.parts) });
  }
  return out;
}

export function AssistantPanel({ open, onClose }: { open: boolean; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const info = useApi<AssistantInfo>('/api/assistant');
  const [turns, setTurns] = useState<Turn[]>([]);
  const [question, setQuestion] = useState('');
  const [busy, setBusy] = useState<AbortController | null>(null);
  const inFlight = useRef(false);

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (open && !d.open) {
      d.showModal();
      input.current?.focus();
    } else if (!open && d.open) d.close();
  }, [open]);

  // Escape (the dialog's own cancel) and close() both end here.
  useEffect(() => {
    const d = dialog.current;
    const closed = () => onClose();
    d?.addEventListener('close', closed);
    return () => d?.removeEventListener('close', closed);
  }, [onClose]);

  // A panel taken away mid-answer (signed out) stops its request.
  const current = useRef<AbortController | null>(null);
  current.current = busy;
  useEffect(() => () => current.current?.abort(), []);

  /** Changes the answer being written (always the last turn). */
  const updateLast = (change: (t: Extract<Turn, { role: 'assistant' }>) => Extract<Turn, { role: 'assistant' }>) =>
    setTurns((ts) => {
      const last = ts[ts.length - 1];
      return last?.role === 'assistant' ? [...ts.slice(0, -1), change(last)] : ts;
    });

  const ask = async (e: Event) => {
    e.preventDefault();
    const content = question.trim();
    // A ref, not the state: two Enters before the next render must still send one question.
    if (content === '' || inFlight.current) return;
    inFlight.current = true;
    const sent = [...turns, { role: 'user' as const, content }];
    setTurns([...sent, { role: 'assistant', parts: [], state: 'streaming' }]);
    setQuestion('');
    const abort = new AbortController();
    setBusy(abort);
    let ended = false;
    try {
      const res = await stream('/api/assistant', { method: 'POST', body: { messages: history(sent) }, signal: abort.signal });
      if (!res.body) throw new ApiError('bad_response', 'the answer had no body', res.status);
      for await (const ev of readSse(res.body)) {
        const data = ev.data as Record<string, unknown>;
        if (ev.event === 'text' && typeof data.delta === 'string') {
          const delta = data.delta;
          updateLast((t) => {
            const last = t.parts[t.parts.length - 1];
            const parts: Part[] = last?.kind === 'text' ? [...t.parts.slice(0, -1), { kind: 'text', text: last.text + delta }] : [...t.parts, { kind: 'text', text: delta }];
            return { ...t, parts };
          });
        } else if (ev.event === 'tool') {
          const part: Part = { kind: 'tool', name: typeof data.name === 'string' ? data.name : '?', status: typeof data.status === 'string' ? data.status : '?' };
          updateLast((t) => ({ ...t, parts: [...t.parts, part] }));
        } else if (ev.event === 'error') {
          ended = true;
          const code = typeof data.code === 'string' ? data.code : 'error';
          const message = typeof data.message === 'string' ? data.message : 'the assistant could not answer';
          const error = new ApiError(code, message, typeof data.status === 'number' ? data.status : 0);
          updateLast((t) => ({ ...t, state: 'failed', error }));
        } else if (ev.event === 'done') {
          ended = true;
          updateLast((t) => ({ ...t, state: 'done' }));
        }
      }
      if (!ended) updateLast((t) => ({ ...t, state: 'failed', error: new ApiError('bad_response', 'the answer was broken off; ask again', 0) }));
    } catch (err) {
      if (abort.signal.aborted) updateLast((t) => ({ ...t, state: 'stopped' }));
      else updateLast((t) => ({ ...t, state: 'failed', error: err instanceof ApiError ? err : new ApiError('network', String(err), 0) }));
    } finally {
      inFlight.current = false;
      setBusy(null);
      input.current?.focus();
    }
  };

  const stop = () => busy?.abort();
  const startOver = () => {
    busy?.abort();
    setTurns([]);
    input.current?.focus();
  };

  const notConfigured = info.error?.code === 'assistant_not_configured';
  const provider = info.data?.provider ? PROVIDERS[info.data.provider] ?? info.data.provider : null;

  return (
    <dialog ref={dialog} class="assistant" aria-labelledby="assistant-title" aria-describedby="assistant-notice">
      <div class="assistant-head">
        <h2 id="assistant-title">Assistant</h2>
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      <div id="assistant-notice" class="assistant-notice">
        {info.data ? (
          <p>
            Your questions, and what the assistant reads from your account to answer them, are sent to the model{' '}
            <strong>{info.data.model}</strong>
            {provider && <> of {provider}</>} through this gateway, billed to your account under the key named “assistant”. Tollgate does not store
            the conversation: it stays in this page until you reload it.
          </p>
        ) : info.loading ? (
          <p aria-busy="true">Loading…</p>
        ) : (
          <ErrorMessage error={info.error} />
        )}
        <p class="sub">It can only read: balance, usage, requests, keys (never a secret) and prices.</p>
      </div>
      <div class="assistant-log" role="log" aria-live="polite" aria-label="Conversation">
        {turns.map((t, i) =>
          t.role === 'user' ? (
            <div key={i} class="turn user">
              <span class="visually-hidden">You: </span>
              {t.content}
            </div>
          ) : (
            <div key={i} class="turn answer" data-state={t.state} aria-busy={t.state === 'streaming'}>
              <span class="visually-hidden">Assistant: </span>
              {t.parts.map((p, j) =>
                p.kind === 'tool' ? (
                  <p key={j} class="tool">
                    {toolNote(p.name, p.status)}
                  </p>
                ) : (
                  <p key={j} class="text">
                    {p.text}
                  </p>
                ),
              )}
              {t.state === 'streaming' && t.parts.length === 0 && <p class="sub">Thinking…</p>}
              {t.state === 'stopped' && <p class="sub">Stopped.</p>}
              {t.error && <ErrorMessage error={t.error} />}
            </div>
          ),
        )}
      </div>
      <form class="assistant-ask" onSubmit={(e) => void ask(e)}>
        <label for="assistant-question">Your question</label>
        <textarea
          id="assistant-question"
          ref={input}
          rows={2}
          maxLength={8000}
          value={question}
          disabled={notConfigured}
          onInput={(e) => setQuestion(e.currentTarget.value)}
          onKeyDown={(e) => {
            // Enter sends, Shift+Enter is a new line.
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              e.currentTarget.form?.requestSubmit();
            }
          }}
        />
        <div class="row">
          {busy ? (
            <button type="button" class="danger" onClick={stop}>
              Stop
            </button>
          ) : (
            <button type="submit" disabled={notConfigured || question.trim() === ''}>
              Ask
            </button>
          )}
          {turns.length > 0 && (
            <button type="button" class="secondary" onClick={startOver}>
              New conversation
            </button>
          )}
        </div>
      </form>
    </dialog>
  );
}

/**
 * Quick start: the official SDK of each API format pointed at this gateway, with the base URLs
 * of README "Using the gateway" built from the page's own origin (the address the person reached
 * the dashboard by), each with a Copy button. The key comes from Projects and keys.
 */
import { useState } from 'preact/hooks';
import { Link } from '../router';

interface Snippet {
  id: string;
  title: string;
  install: string;
  code: (origin: string) => string;
}

const SNIPPETS: Snippet[] = [
  {
    id: 'openai',
    title: 'OpenAI format (openai)',
    install: 'npm install openai',
    code: (origin) => `import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: '${origin}/v1',
  apiKey: process.env.TOLLGATE_API_KEY, // tg-…
});

const answer = await client.chat.completions.create({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Hello!' }],
});
console.log(answer.choices[0].message.content);`,
  },
  {
    id: 'anthropic',
    title: 'Anthropic format (@anthropic-ai/sdk)',
    install: 'npm install @anthropic-ai/sdk',
    code: (origin) => `import Anthropic from '@anthropic-ai/sdk';

const client = new Anthropic({
  baseURL: '${origin}',
  apiKey: process.env.TOLLGATE_API_KEY, // tg-…
});

const message = await client.messages.create({
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  messages: [{ role: 'user', content: 'Hello!' }],
});
console.log(message.content);`,
  },
  {
    id: 'gemini',
    title: 'Gemini format (@google/genai)',
    install: 'npm install @google/genai',
    code: (origin) => `import { GoogleGenAI } from '@google/genai';

const ai = new GoogleGenAI({
  apiKey: process.env.TOLLGATE_API_KEY, // tg-…
  httpOptions: { baseUrl: '${origin}' },
});

const answer = await ai.models.generateContent({
  model: 'gemini-2.5-flash',
  contents: 'Hello!',
});
console.log(answer.text);`,
  },
];

export function QuickStartScreen() {
  const origin = location.origin;
  return (
    <div data-ready="quick-start">
      <h1 tabIndex={-1}>Quick start</h1>
      <p>
        Make a key in <Link href="/projects">Projects and keys</Link>, then use each provider's official SDK with only its base URL changed. One key reaches every
        model; see <Link href="/pricing">Pricing</Link> for the list. Each answer carries an <code>x-request-id</code>, whose receipt is under{' '}
        <Link href="/requests">Requests</Link>.
      </p>
      {SNIPPETS.map((s) => (
        <SnippetView key={s.id} snippet={s} origin={origin} />
      ))}
    </div>
  );
}

function SnippetView({ snippet, origin }: { snippet: Snippet; origin: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const code = snippet.code(origin);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(code);
      setCopied('yes');
    } catch {
      setCopied('no');
    }
  };
  const title = `snippet-${snippet.id}`;
  return (
    <section class="card" aria-labelledby={title}>
      <h2 id={title}>{snippet.title}</h2>
      <pre class="code">
        <code>{snippet.install}</code>
      </pre>
      <pre class="code" data-snippet={snippet.id} tabIndex={0} aria-label={`${snippet.title} example`}>
        <code>{code}</code>
      </pre>
      <button type="button" class="secondary" onClick={() => void copy()}>
        Copy<span class="visually-hidden"> the {snippet.title} example</span>
      </button>
      <p role="status" class="sub">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'no' ? 'The browser refused the clipboard: select the code and copy it.' : ''}
      </p>
    </section>
  );
}

/**
 * Reads a text/event-stream answer in tests: `event:` and `data:` lines, events split by a
 * blank line. Written here, not taken from src/proxy/streaming/sse.ts, so a bug in the code
 * under test cannot be mirrored by the reader it is tested with.
 */
export interface ReadEvent {
  event: string;
  data: any;
}

export function parseSseText(text: string): ReadEvent[] {
  const out: ReadEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length) out.push({ event, data: JSON.parse(data.join('\n')) });
  }
  return out;
}

/** Reads events as they arrive until `until` says stop, then cancels the body (the client leaves), or until the stream ends. */
export async function readSseUntil(res: Response, until: (events: ReadEvent[]) => boolean): Promise<ReadEvent[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return parseSseText(text);
    text += decoder.decode(value, { stream: true });
    const complete = text.slice(0, text.lastIndexOf('\n\n') + 2);
    const events = parseSseText(complete);
    if (until(events)) {
      await reader.cancel().catch(() => undefined);
      return events;
    }
  }
}

/**
 * A client that leaves mid-stream: POSTs a streaming chat completion (OpenAI's wire) to the
 * gateway, reads until `events` data lines have arrived, then aborts the request. Resolves with
 * the answer's status once it has left.
 */
export async function leaveStreamAfter(gatewayUrl: string, secret: string, body: unknown, events: number): Promise<number> {
  const abort = new AbortController();
  const res = await fetch(`${gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: abort.signal,
  });
  if (res.status !== 200) return res.status;
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  while ((seen.match(/^data: /gm) ?? []).length < events) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
  }
  abort.abort();
  await reader.cancel().catch(() => undefined);
  return res.status;
}

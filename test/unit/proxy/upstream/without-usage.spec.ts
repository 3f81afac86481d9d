/**
 * The usage the gateway asked for on the client's behalf is taken out of the chunks it relays:
 * the `"usage":null` of each chunk, however the provider spaces it, and the usage-only chunk.
 */
import { withoutUsage } from '../../../../src/proxy/upstream/plan';

const pass = (data: string) => withoutUsage({ data }).map((e) => e.data);

describe('withoutUsage (OpenAI streams whose usage only the gateway asked for)', () => {
  it('cuts "usage": null wherever the key sits, compact or spaced', () => {
    expect(pass('{"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}')).toEqual([
      '{"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}]}',
    ]);
    expect(pass('{"id": "c", "choices": [], "usage" : null }')).toEqual(['{"id": "c", "choices": [] }']);
    expect(pass('{"usage":null,"id":"c","choices":[]}')).toEqual(['{"id":"c","choices":[]}']);
    expect(pass('{ "usage": null, "id":"c"}')).toEqual(['{  "id":"c"}']); // whitespace is JSON's business
  });

  it('leaves text that merely mentions usage alone', () => {
    const content = JSON.stringify({ choices: [{ delta: { content: 'a "usage":null, b ,"usage":null}' } }] });
    expect(pass(content)).toEqual([content]);
    expect(JSON.parse(pass(content)[0])).toEqual(JSON.parse(content));
    expect(pass('[DONE]')).toEqual(['[DONE]']);
  });

  it('withholds the usage-only chunk and keeps a chunk that has choices and usage', () => {
    expect(pass('{"id":"c","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}')).toEqual([]);
    const both = '{"id":"c","choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":1}}';
    expect(pass(both)).toEqual([both]);
  });
});

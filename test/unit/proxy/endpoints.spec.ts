import { ENDPOINTS, EndpointKind, shapeOf } from '../../../src/proxy/endpoints';
import { ProxyError } from '../../../src/proxy/http/proxy-error';

const shape = (kind: EndpointKind, body: Record<string, unknown>) => shapeOf(ENDPOINTS[kind], { model: 'm', ...body }, null);
const refusal = (kind: EndpointKind, body: Record<string, unknown>): unknown => {
  try {
    shape(kind, body);
  } catch (err) {
    return err instanceof ProxyError ? { code: err.code, status: err.status, param: err.extra.param } : err;
  }
  return 'accepted';
};

describe('shapeOf: output limits', () => {
  it.each<[EndpointKind, Record<string, unknown>, string]>([
    ['openai.chat', { max_tokens: 0 }, 'max_tokens'],
    ['openai.chat', { max_completion_tokens: 0 }, 'max_completion_tokens'],
    ['openai.chat', { max_tokens: 10, max_completion_tokens: 0 }, 'max_completion_tokens'],
    ['openai.completions', { max_tokens: 0 }, 'max_tokens'],
    ['openai.responses', { max_output_tokens: 0 }, 'max_output_tokens'],
    ['anthropic.messages', { max_tokens: 0 }, 'max_tokens'],
    ['gemini.generate', { generationConfig: { maxOutputTokens: 0 } }, 'generationConfig.maxOutputTokens'],
    ['gemini.stream', { generation_config: { max_output_tokens: 0 } }, 'generation_config.max_output_tokens'],
    ['openai.chat', { max_tokens: 1.5 }, 'max_tokens'],
    ['openai.chat', { max_tokens: '100' }, 'max_tokens'],
    ['openai.chat', { n: 0 }, 'n'],
    ['openai.completions', { best_of: -2 }, 'best_of'],
    ['gemini.generate', { generationConfig: { candidateCount: 0 } }, 'generationConfig.candidateCount'],
  ])('%s %j: 400 invalid_request naming %s', (kind, body, param) => {
    expect(refusal(kind, body)).toEqual({ code: 'invalid_request', status: 400, param });
  });

  it('takes the larger limit when a request sets two', () => {
    expect(shape('openai.chat', { max_tokens: 10, max_completion_tokens: 300 }).maxOutputTokens).toBe(300);
    expect(shape('openai.chat', { max_tokens: 500, max_completion_tokens: 30 }).maxOutputTokens).toBe(500);
    expect(shape('gemini.generate', { generationConfig: { maxOutputTokens: 7 }, generation_config: { max_output_tokens: 70 } }).maxOutputTokens).toBe(70);
    expect(shape('openai.chat', {}).maxOutputTokens).toBeNull();
    expect(shape('openai.completions', {}).maxOutputTokens).toBe(16);
  });

  it('counts every answer the output limit applies to', () => {
    expect(shape('openai.chat', {}).answers).toBe(1);
    expect(shape('openai.chat', { n: 8 }).answers).toBe(8);
    expect(shape('openai.completions', { n: 2, best_of: 5, prompt: ['a', 'b', 'c'] }).answers).toBe(15);
    expect(shape('openai.completions', { prompt: [1, 2, 3] }).answers).toBe(1); // one prompt of token ids
    expect(shape('openai.completions', { prompt: [[1], [2]] }).answers).toBe(2);
    expect(shape('gemini.generate', { generationConfig: { candidateCount: 4 } }).answers).toBe(4);
    expect(shape('anthropic.messages', { max_tokens: 5 }).answers).toBe(1);
  });
});

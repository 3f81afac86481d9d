import fc from 'fast-check';
import { usageFromAnthropic } from '../../../../src/proxy/formats/anthropic.format';
import { usageFromGemini } from '../../../../src/proxy/formats/gemini.format';
import { usageFromOpenAI } from '../../../../src/proxy/formats/openai.format';

describe('usageFromOpenAI', () => {
  it('takes cached tokens out of prompt_tokens (chat completion)', () => {
    const usage = {
      prompt_tokens: 2006,
      completion_tokens: 300,
      total_tokens: 2306,
      prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    expect(usageFromOpenAI(usage)).toEqual({ inputTokens: 86, cachedTokens: 1920, cacheWriteTokens: 0, outputTokens: 300 });
  });

  it('counts reasoning inside completion_tokens once (o-series)', () => {
    const usage = {
      prompt_tokens: 75,
      completion_tokens: 1186,
      total_tokens: 1261,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 1024, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    expect(usageFromOpenAI(usage)).toEqual({ inputTokens: 75, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 1186 });
  });

  it('adds xAI reasoning tokens, which it reports beside completion_tokens', () => {
    const grok = {
      prompt_tokens: 32,
      completion_tokens: 9,
      total_tokens: 135,
      prompt_tokens_details: { text_tokens: 32, audio_tokens: 0, image_tokens: 0, cached_tokens: 6 },
      completion_tokens_details: { reasoning_tokens: 94, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      num_sources_used: 0,
    };
    expect(usageFromOpenAI(grok)).toEqual({ inputTokens: 26, cachedTokens: 6, cacheWriteTokens: 0, outputTokens: 103 });
  });

  it('reads cache writes where OpenAI reports them', () => {
    const usage = { prompt_tokens: 5000, completion_tokens: 10, total_tokens: 5010, prompt_tokens_details: { cached_tokens: 1000, cache_write_tokens: 3000 } };
    expect(usageFromOpenAI(usage)).toEqual({ inputTokens: 1000, cachedTokens: 1000, cacheWriteTokens: 3000, outputTokens: 10 });
  });

  it('reads the Responses API usage', () => {
    const usage = {
      input_tokens: 5328,
      input_tokens_details: { cached_tokens: 4864 },
      output_tokens: 1062,
      output_tokens_details: { reasoning_tokens: 896 },
      total_tokens: 6390,
    };
    expect(usageFromOpenAI(usage)).toEqual({ inputTokens: 464, cachedTokens: 4864, cacheWriteTokens: 0, outputTokens: 1062 });
  });

  it('reads embeddings and legacy completions', () => {
    expect(usageFromOpenAI({ prompt_tokens: 8, total_tokens: 8 })).toEqual({ inputTokens: 8, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 0 });
    expect(usageFromOpenAI({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 })).toEqual({
      inputTokens: 5,
      cachedTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 7,
    });
  });

  it('never loses or invents prompt tokens', () => {
    fc.assert(
      fc.property(fc.nat(1e9), fc.nat(1e9), fc.nat(1e9), (prompt, cached, completion) => {
        const u = usageFromOpenAI({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: cached } })!;
        expect(u.inputTokens + u.cachedTokens).toBe(prompt);
        expect(u.inputTokens >= 0 && u.cachedTokens >= 0).toBe(true);
        expect(u.outputTokens).toBe(completion);
      }),
    );
  });

  // Until issue 16 these read as zeros, charged as if the provider had counted nothing.
  it('reads garbage as no usage at all, never as zero', () => {
    for (const junk of [null, undefined, 'x', 3, [], {}, { prompt_tokens: -4, completion_tokens: 1 }, { prompt_tokens: 4, completion_tokens: 1.5 }, { input_tokens: '7', output_tokens: 1 }]) {
      expect(usageFromOpenAI(junk)).toBeNull();
    }
  });
});

/** A count that is present but cannot be one: what a broken or hostile upstream might send. */
const UNUSABLE: unknown[] = ['12', -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, JSON.parse('1e999'), 2 ** 53, true, {}, [3]];

describe('an unusable count anywhere makes the whole usage missing', () => {
  const valid = {
    chat: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 2 } },
    responses: { input_tokens: 10, output_tokens: 5, total_tokens: 15, input_tokens_details: { cached_tokens: 2 } },
    anthropic: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 2, cache_creation_input_tokens: 1 },
    gemini: { promptTokenCount: 10, candidatesTokenCount: 5, cachedContentTokenCount: 2, thoughtsTokenCount: 1, toolUsePromptTokenCount: 1, totalTokenCount: 17 },
  };
  const cases: [string, (u: unknown) => unknown, Record<string, unknown>, string[]][] = [
    ['openai chat', usageFromOpenAI, valid.chat, ['prompt_tokens', 'completion_tokens', 'total_tokens', 'prompt_tokens_details.cached_tokens']],
    ['openai responses', usageFromOpenAI, valid.responses, ['input_tokens', 'output_tokens', 'total_tokens', 'input_tokens_details.cached_tokens']],
    ['anthropic', usageFromAnthropic, valid.anthropic, ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens']],
    ['gemini', usageFromGemini, valid.gemini, ['promptTokenCount', 'candidatesTokenCount', 'cachedContentTokenCount', 'thoughtsTokenCount', 'toolUsePromptTokenCount', 'totalTokenCount']],
  ];
  it.each(cases)('%s', (_name, read, usage, fields) => {
    expect(read(usage)).not.toBeNull();
    for (const field of fields) {
      for (const bad of UNUSABLE) {
        const broken = structuredClone(usage);
        const path = field.split('.');
        let at = broken;
        for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
        at[path[path.length - 1]] = bad;
        expect([field, bad, read(broken)]).toEqual([field, bad, null]);
      }
    }
  });

  it('a required count that is absent is missing too; absent optional ones read as zero', () => {
    expect(usageFromAnthropic({ output_tokens: 5 })).toBeNull();
    expect(usageFromAnthropic({ input_tokens: 5 })).toBeNull();
    expect(usageFromGemini({ candidatesTokenCount: 5 })).toBeNull();
    expect(usageFromOpenAI({ output_tokens: 5 })).toBeNull();
    expect(usageFromGemini({ promptTokenCount: 4 })).toEqual({ inputTokens: 4, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 0 });
  });
});

describe('usageFromAnthropic', () => {
  it('keeps input, cache reads and cache writes apart, as Anthropic reports them', () => {
    const usage = {
      input_tokens: 50,
      cache_creation_input_tokens: 1000,
      cache_read_input_tokens: 2400,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 0 },
      output_tokens: 503,
      output_tokens_details: { thinking_tokens: 300 },
      server_tool_use: null,
      service_tier: 'standard',
    };
    expect(usageFromAnthropic(usage)).toEqual({ inputTokens: 50, cachedTokens: 2400, cacheWriteTokens: 1000, outputTokens: 503 });
  });

  it('reads null cache fields as zero', () => {
    expect(usageFromAnthropic({ input_tokens: 12, cache_creation_input_tokens: null, cache_read_input_tokens: null, output_tokens: 6 })).toEqual({
      inputTokens: 12,
      cachedTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 6,
    });
  });
});

describe('usageFromGemini', () => {
  it('takes cached content out of the prompt and adds thoughts to the output', () => {
    const usageMetadata = {
      promptTokenCount: 1200,
      candidatesTokenCount: 300,
      totalTokenCount: 1750,
      cachedContentTokenCount: 1000,
      thoughtsTokenCount: 250,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: 1200 }],
      cacheTokensDetails: [{ modality: 'TEXT', tokenCount: 1000 }],
    };
    expect(usageFromGemini(usageMetadata)).toEqual({ inputTokens: 200, cachedTokens: 1000, cacheWriteTokens: 0, outputTokens: 550 });
  });

  it('bills the results of Google tools fed back to the model as input', () => {
    const usageMetadata = { promptTokenCount: 9, candidatesTokenCount: 40, toolUsePromptTokenCount: 120, totalTokenCount: 169 };
    const u = usageFromGemini(usageMetadata)!;
    expect(u).toEqual({ inputTokens: 129, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 40 });
    // Everything in totalTokenCount is charged, once.
    expect(u.inputTokens + u.cachedTokens + u.outputTokens).toBe(usageMetadata.totalTokenCount);
  });

  it('reads a chunk with only the prompt counted', () => {
    expect(usageFromGemini({ promptTokenCount: 9, totalTokenCount: 9 })).toEqual({ inputTokens: 9, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 0 });
  });
});

/** Gemini generateContent answers as the REST API sends them (camelCase; `?alt=sse` events). */
const data = (body: unknown) => `data: ${JSON.stringify(body)}\r\n\r\n`;
const usage = (candidates: number, extra: Record<string, number> = {}) => ({
  promptTokenCount: 120,
  candidatesTokenCount: candidates,
  totalTokenCount: 120 + candidates + (extra.thoughtsTokenCount ?? 0),
  promptTokensDetails: [{ modality: 'TEXT', tokenCount: 120 }],
  ...extra,
});
const chunk = (parts: unknown[], extra: Record<string, unknown> = {}) => ({
  candidates: [{ content: { parts, role: 'model' }, index: 0, ...extra }],
  modelVersion: 'gemini-2.5-flash',
  responseId: 'resp-1',
});

export const TEXT_STREAM =
  data({ ...chunk([{ text: 'Hello' }]), usageMetadata: usage(1) }) +
  data({ ...chunk([{ text: ' wörld ' }]), usageMetadata: usage(3) }) +
  data({ ...chunk([{ text: '🌍' }], { finishReason: 'STOP' }), usageMetadata: usage(4, { thoughtsTokenCount: 30, cachedContentTokenCount: 100 }) });

/** Gemini 3 style: a function call with its thought signature, then a parallel one without. */
export const TOOL_STREAM =
  data({ ...chunk([{ text: 'Checking. ' }]), usageMetadata: usage(2) }) +
  data({
    ...chunk(
      [
        { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'CiQBcsjafE' },
        { functionCall: { name: 'get_weather', args: { city: 'Rome' } } },
      ],
      { finishReason: 'STOP' },
    ),
    usageMetadata: usage(20, { thoughtsTokenCount: 50 }),
  });

export const BLOCKED_PROMPT_STREAM = data({
  promptFeedback: { blockReason: 'PROHIBITED_CONTENT' },
  usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 },
  modelVersion: 'gemini-2.5-flash',
  responseId: 'resp-2',
});

export const ERROR_STREAM = data({ ...chunk([{ text: 'Hel' }]) }) + data({ error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } });

export const CUT_STREAM = data({ ...chunk([{ text: 'Hel' }]), usageMetadata: usage(1) });

export const TOOL_RESPONSE = {
  candidates: [
    {
      content: {
        role: 'model',
        parts: [
          { text: 'thinking about it', thought: true },
          { text: 'Let me check.' },
          { functionCall: { id: 'fc-9', name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2ln' },
        ],
      },
      finishReason: 'STOP',
      index: 0,
      safetyRatings: [],
    },
  ],
  usageMetadata: { promptTokenCount: 200, candidatesTokenCount: 15, thoughtsTokenCount: 40, cachedContentTokenCount: 150, totalTokenCount: 255 },
  modelVersion: 'gemini-3-pro-preview',
  responseId: 'resp-3',
};

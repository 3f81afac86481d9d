/** Translation between the OpenAI chat format and Anthropic / Gemini: see README.md here. */
export * from './translation-error';
export * from './openai-wire';
export * from './openai-to-anthropic';
export * from './openai-to-gemini';

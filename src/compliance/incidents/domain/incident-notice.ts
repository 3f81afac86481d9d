/**
 * The notice each affected person receives (GDPR Art. 34(2)): in plain language, what happened,
 * which of their data, the likely consequences, what is being done and whom to ask. The text is
 * the same for everyone affected (no name, no address in it), so `preview` shows exactly what
 * goes out, and a notice holds nothing personal beyond the envelope.
 *
 * Its Message-ID is derived from the incident and the person: a copy sent again after a crash
 * carries the same id, so a mail client that threads or deduplicates by it shows one message.
 */
import { deterministicId } from '../../../shared/ids';
import { DataCategory, IncidentFacts } from './incident';

export const DATA_CATEGORY_WORDS: Readonly<Record<DataCategory, string>> = {
  email: 'your email address',
  display_name: 'your display name',
  ip_address: 'the IP addresses you signed in from',
  wallet_address: 'the crypto wallet addresses you paid from',
  usage_metadata: 'records of your API requests (model, token counts, times; never their content)',
  payment_records: 'records of your purchases (amounts, dates, payment references)',
  api_key_metadata: 'the names and settings of your API keys (not the keys themselves)',
};

export interface NoticeText {
  subject: string;
  text: string;
}

export function noticeText(facts: IncidentFacts, product = 'Tollgate'): NoticeText {
  const data = facts.dataCategories.map((c) => `  - ${DATA_CATEGORY_WORDS[c]}`).join('\n');
  const text = [
    'Hello,',
    '',
    `We are writing to tell you about a security incident at ${product} that involves your personal data.`,
    '',
    'What happened',
    indent(facts.nature),
    '',
    'Which of your data is involved',
    data,
    '',
    'What this may mean for you',
    indent(facts.consequences),
    '',
    'What we have done and will do',
    indent(facts.measures),
    '',
    'Questions',
    indent(`Write to or call: ${facts.contact}`),
    '',
    'You are receiving this because your account was among those affected. We are sorry.',
  ].join('\n');
  return { subject: `Important: a security incident involving your ${product} data (${facts.title})`.slice(0, 250), text };
}

const indent = (s: string) => s.split('\n').map((l) => `  ${l}`).join('\n');

/** `<incident-…@host>`: one per incident and person, the same on every attempt. */
export function noticeMessageId(incidentId: string, userId: string, host: string): string {
  return `<incident-notice-${deterministicId(`incident-notice:${incidentId.toLowerCase()}:${userId.toLowerCase()}`)}@${host}>`;
}

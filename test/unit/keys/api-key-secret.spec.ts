import { randomBytes } from 'node:crypto';
import {
  SECRET_PATTERN,
  SECRET_SCAN_PATTERN,
  describeSecret,
  displayKey,
  generateSecret,
  hashSecret,
  isWellFormedSecret,
} from '../../../src/keys/domain/api-key-secret';
import { keyCommandKey, keyEventIdFor } from '../../../src/keys/domain/api-key-event-ids';
import { ApiKeyCommand } from '../../../src/keys/domain/api-key.decider';

describe('API key secrets', () => {
  it('are tg- and 40 base62 characters, matched by the documented patterns', () => {
    for (let i = 0; i < 200; i++) {
      const s = generateSecret(randomBytes);
      expect(s).toMatch(SECRET_PATTERN);
      expect(s).toHaveLength(43);
      expect(isWellFormedSecret(s)).toBe(true);
      expect(`leaked: "${s}",`.match(SECRET_SCAN_PATTERN)).toEqual([s]);
    }
  });

  it('draw every character evenly: bytes >= 248 are dropped, not folded onto the first characters', () => {
    // A source that gives 255 (must be skipped) then 0, 61, 62, 247: '0', 'z', '0', 'z' ...
    const source = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => [255, 0, 61, 62, 247][i % 5]));
    expect(generateSecret(source)).toBe('tg-' + '0z0z'.repeat(10));
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) for (const c of generateSecret(randomBytes).slice(3)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    const expected = (2000 * 40) / 62; // ≈ 1290 each: every character appears, none far from its share
    for (const n of counts.values()) expect(Math.abs(n - expected)).toBeLessThan(expected * 0.2);
  });

  it('are all different', () => {
    const all = new Set(Array.from({ length: 10_000 }, () => generateSecret(randomBytes)));
    expect(all.size).toBe(10_000);
  });

  it('malformed keys are recognised without a lookup', () => {
    const good = generateSecret(randomBytes);
    for (const bad of ['', 'tg-', good.slice(0, -1), `${good}x`, good.replace('tg-', 'sk-'), `${good.slice(0, 10)}-${good.slice(11)}`, ` ${good}`]) {
      expect(isWellFormedSecret(bad)).toBe(false);
    }
  });

  it('keep only a SHA-256 and display parts, none of which contains the secret', () => {
    const s = 'tg-AbCd01234567890123456789012345678901WxYz';
    expect(s).toMatch(SECRET_PATTERN);
    const d = describeSecret(s);
    expect(d).toEqual({
      hash: '00e1481732db93ccafc547941e9e68fcb908fb610a948da28abf9446d8395e4f', // sha256, computed independently (Python hashlib)
      prefix: 'tg-AbCd',
      last4: 'WxYz',
    });
    expect(hashSecret('tg-test')).toBe('0fecdb892ac73adb53754023054c05266a4d84c91a95044cf90c0b3eba742f61');
    expect(displayKey(d.prefix, d.last4)).toBe('tg-AbCd…WxYz');
  });
});

describe('keyEventIdFor', () => {
  const h = (c: string) => c.repeat(64);
  const commands: ApiKeyCommand[] = [
    { type: 'CreateKey', data: { keyId: 'k', accountId: 'a', project: 'p', name: '', hash: h('a'), prefix: 'tg-aaaa', last4: 'aaaa' } },
    { type: 'RevokeKey', data: { keyId: 'k', reason: 'r' } },
    { type: 'RegenerateKey', data: { keyId: 'k', hash: h('b'), prefix: 'tg-bbbb', last4: 'bbbb' } },
    { type: 'RegenerateKey', data: { keyId: 'k', hash: h('c'), prefix: 'tg-cccc', last4: 'cccc' } },
    { type: 'ChangeKeyLimits', data: { keyId: 'k', changeId: 'c1', limits: { rpm: 1 } } },
    { type: 'ChangeKeyLimits', data: { keyId: 'k', changeId: 'c2', limits: { rpm: 1 } } },
  ];

  it('a retried command gets the same id; distinct commands never share one', () => {
    const ids = commands.map((c) => keyEventIdFor(c, 0));
    expect(commands.map((c) => keyEventIdFor(structuredClone(c), 0))).toEqual(ids);
    expect(new Set(ids).size).toBe(commands.length);
  });

  it('a revoke is one id whatever the reason, so a key is revoked once', () => {
    expect(keyEventIdFor({ type: 'RevokeKey', data: { keyId: 'k', reason: 'x' } }, 0)).toBe(keyEventIdFor(commands[1], 0));
    expect(keyCommandKey(commands[1])).toBe('apikey:k:revoked');
  });

  it('ids of different keys differ', () => {
    const other = { ...commands[0], data: { ...commands[0].data, keyId: 'k2' } } as ApiKeyCommand;
    expect(keyEventIdFor(other, 0)).not.toBe(keyEventIdFor(commands[0], 0));
  });
});

import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { DEVELOPMENT_KEY, SecretBox, SecretBoxError } from '../../../src/platform/crypto/secret-box';
import { SealError, open, seal } from '../../../src/platform/crypto/aes-gcm';

describe('SecretBox (AES-256-GCM secrets at rest)', () => {
  const key = randomBytes(32).toString('base64');
  const box = new SecretBox({ ENCRYPTION_KEY: key });

  it('round-trips, with a fresh IV each time, and the value shows nothing of the secret', () => {
    const secret = 'sk-proj-canary-0123456789abcdef';
    const a = box.seal(secret, 'channel:1:api_key');
    const b = box.seal(secret, 'channel:1:api_key');
    expect(a).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('canary');
    expect(Buffer.from(a.split(':')[3], 'base64').toString('latin1')).not.toContain('canary');
    expect(box.open(a, 'channel:1:api_key')).toBe(secret);
    expect(box.usesDevelopmentKey).toBe(false);
  });

  it('binds a value to its purpose: another row or column does not decrypt it', () => {
    const value = box.seal('k', 'channel:1:api_key');
    expect(() => box.open(value, 'channel:2:api_key')).toThrow(expect.objectContaining({ code: 'undecryptable_secret' }));
  });

  it('refuses a value sealed under another key, an altered value, and a malformed one', () => {
    const other = new SecretBox({ ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    const value = other.seal('k', 'p');
    expect(() => box.open(value, 'p')).toThrow(SecretBoxError);
    const [v, iv, tag, ct] = box.seal('hello', 'p').split(':');
    const bytes = Buffer.from(ct, 'base64');
    bytes[0] ^= 1;
    expect(() => box.open([v, iv, tag, bytes.toString('base64')].join(':'), 'p')).toThrow(expect.objectContaining({ code: 'undecryptable_secret' }));
    expect(() => box.open('plain text', 'p')).toThrow(expect.objectContaining({ code: 'malformed_secret' }));
    expect(() => box.open(`v1:${iv}:${tag.slice(0, 8)}:${ct}`, 'p')).toThrow(expect.objectContaining({ code: 'malformed_secret' }));
  });

  it('without ENCRYPTION_KEY uses the fixed development key (so dev data survives a restart) and says so', () => {
    const dev = new SecretBox({});
    expect(dev.usesDevelopmentKey).toBe(true);
    const value = dev.seal('k', 'p');
    expect(new SecretBox({}).open(value, 'p')).toBe('k');
    expect(open(DEVELOPMENT_KEY, value, 'p')).toBe('k');
    expect(() => box.open(value, 'p')).toThrow(SecretBoxError);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      dev.onApplicationBootstrap();
      box.onApplicationBootstrap();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/development key.*ENCRYPTION_KEY/);
    } finally {
      warn.mockRestore();
    }
  });

  it('the primitive refuses a key that is not 32 bytes', () => {
    expect(() => seal(randomBytes(16), 'x', 'p')).toThrow(/32 bytes/);
    expect(() => open(randomBytes(32), 'v1:a:b:c', 'p')).toThrow(SealError);
  });
});

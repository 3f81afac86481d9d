import { VaultError } from '../../../src/compliance/personal-data-vault';
import { ConfigError } from '../../../src/config/config';
import { KeyAuthError, KeyError } from '../../../src/keys/domain/key.errors';
import { LedgerError } from '../../../src/ledger/domain/errors';
import { SealError } from '../../../src/platform/crypto/aes-gcm';
import { SecretBoxError } from '../../../src/platform/crypto/secret-box';
import { EventIdConflictError, VersionConflictError } from '../../../src/platform/event-store/event-store.port';
import { ChannelError } from '../../../src/proxy/channels/channel';
import { PricingError } from '../../../src/proxy/pricing/pricing.errors';
import { TranslationError } from '../../../src/proxy/translate/translation-error';
import { MoneyFormatError } from '../../../src/shared/money';
import { ReadModelHaltedError } from '../../../projections/halted';
import { EXIT_FAILURE, EXIT_USAGE, UsageError, describeCliError } from '../../../src/cli/cli-errors';
import { DomainError } from '../../../src/shared/domain-error';

describe('the CLI mapper', () => {
  it('prints `message (code)`, exit 1, for the domain errors that show their code', () => {
    const cases: Array<[DomainError<string, object>, string]> = [
      [new LedgerError('account_not_found', 'no account a'), 'no account a (account_not_found)'],
      [new KeyError('key_revoked', 'key k is revoked'), 'key k is revoked (key_revoked)'],
      [new ChannelError('channel_not_found', 'no channel c'), 'no channel c (channel_not_found)'],
      [new SecretBoxError('undecryptable_secret', 'p: no'), 'p: no (undecryptable_secret)'],
      [new PricingError('invalid_margin', 'bad margin'), 'bad margin (invalid_margin)'],
      [new KeyAuthError('key_expired', 'expired'), 'expired (key_expired)'],
      [new TranslationError('invalid_request', 'bad'), 'bad (invalid_request)'],
      [new SealError('undecryptable', 'no'), 'no (undecryptable)'],
    ];
    for (const [err, message] of cases) {
      expect(err).toBeInstanceOf(DomainError);
      expect(describeCliError(err)).toEqual({ message, exitCode: EXIT_FAILURE });
    }
  });

  it('prints the message alone, exit 1, for those whose message has always been the whole line', () => {
    const halted = new ReadModelHaltedError([{ name: 'balances', eventId: 'e1', error: 'boom', haltedAt: new Date(0) }]);
    const cases: Array<[DomainError<string, object>, string]> = [
      [new MoneyFormatError('1.2345678'), 'not an amount of credits with at most 6 decimals: "1.2345678"'],
      [new ConfigError('invalid configuration: PORT: bad'), 'invalid configuration: PORT: bad'],
      [new VaultError('person_erased', 'person p has been erased'), 'person p has been erased'],
      [new VersionConflictError('account-a', 1n, 2n), 'stream account-a is at version 2, expected 1'],
      [new EventIdConflictError('e1'), 'event e1 already exists with a different stream, type or payload'],
      [halted, halted.message],
    ];
    for (const [err, message] of cases) {
      expect(err).toBeInstanceOf(DomainError);
      expect(describeCliError(err)).toEqual({ message, exitCode: EXIT_FAILURE });
    }
    expect(halted.message).toMatch(/^read model balances is halted at event e1 \(boom\); /);
  });

  it('keeps each error its name and stable code', () => {
    expect(new LedgerError('insufficient_credits', 'x')).toMatchObject({ name: 'LedgerError', code: 'insufficient_credits', details: {} });
    expect(new VersionConflictError('s', 'no_stream', 1n)).toMatchObject({ name: 'VersionConflictError', code: 'version_conflict', details: { streamId: 's', actual: 1n } });
    expect(new EventIdConflictError('e')).toMatchObject({ name: 'EventIdConflictError', code: 'event_exists_with_different' });
    expect(new ConfigError('x')).toMatchObject({ name: 'ConfigError', code: 'invalid_config' });
    expect(new MoneyFormatError('x')).toMatchObject({ name: 'MoneyFormatError', code: 'invalid_amount' });
    expect(new ReadModelHaltedError([])).toMatchObject({ name: 'ReadModelHaltedError', code: 'read_model_halted' });
    expect(new TranslationError('unsupported_parameter', 'x', 'n')).toMatchObject({ name: 'TranslationError', param: 'n', details: { param: 'n' } });
  });

  it('exits 2 for bad usage, and adds the stack hint for anything unexpected', () => {
    expect(describeCliError(new UsageError('--amount: must be a number'))).toEqual({ message: '--amount: must be a number', exitCode: EXIT_USAGE });
    expect(describeCliError(new Error('boom'))).toEqual({ message: 'boom (LOG_LEVEL=debug shows the stack trace)', exitCode: EXIT_FAILURE, stack: undefined });
  });
});

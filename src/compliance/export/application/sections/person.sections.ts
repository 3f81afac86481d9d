/**
 * The built-in sections about the person: profile, sign-in identities (provider and subject),
 * passkeys (names and dates), sign-ins (when, how, from which address) and sessions. Personal
 * fields are vault values, opened for the export (null once the person is erased).
 */
import { userStream } from '../../../../accounts/domain/user.events';
import { ExportRow } from '../../domain/export-format';
import { ExportContext, ExportSection } from '../export-section';
import { instant, sqlSection, text, words } from './section-helpers';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A section read from the person's own stream (`user-<id>`): the events are the record. */
function fromUserStream(spec: Omit<ExportSection, 'count' | 'batches'> & { rowsOf(ctx: ExportContext): AsyncIterable<ExportRow> }): ExportSection {
  return {
    name: spec.name,
    description: spec.description,
    order: spec.order,
    columns: spec.columns,
    async count(ctx) {
      let n = 0;
      // Counting opens nothing: the vault is asked once per value, when the row is written.
      for await (const _row of spec.rowsOf({ ...ctx, open: () => Promise.resolve(null) })) n++;
      return n;
    },
    async *batches(ctx) {
      for await (const row of spec.rowsOf(ctx)) yield [row];
    },
  };
}

export const PERSON_SECTIONS: ExportSection[] = [
  sqlSection({
    name: 'profile',
    order: 10,
    description: 'Who the person is to us: ids, email address, display name, staff roles and when they joined.',
    columns: ['user_id', 'account_id', 'email', 'display_name', 'roles', 'created_at'],
    sql: 'SELECT user_id, account_id, email, display_name, roles, created_at FROM users WHERE user_id = $1',
    params: (ctx) => [ctx.subject.userId],
    map: async (r, ctx) => ({
      user_id: text(r.user_id),
      account_id: text(r.account_id),
      email: await ctx.open(text(r.email)),
      display_name: await ctx.open(text(r.display_name)),
      roles: words(r.roles),
      created_at: instant(r.created_at),
    }),
  }),
  fromUserStream({
    name: 'sign_in_identities',
    order: 20,
    description: 'Accounts at sign-in providers linked to the person (Google, GitHub, OpenID): the provider and its id of the person.',
    columns: ['provider', 'subject', 'linked_at'],
    async *rowsOf(ctx) {
      for await (const e of ctx.readStream(userStream(ctx.subject.userId))) {
        if (e.type !== 'IdentityLinked') continue;
        yield { provider: str(e.data.provider), subject: await ctx.open(str(e.data.subject)), linked_at: str(e.data.linkedAt) };
      }
    },
  }),
  fromUserStream({
    name: 'passkeys',
    order: 30,
    description: "The person's passkeys: name, kind, when registered, last used and removed. Never the key material.",
    columns: ['credential_id', 'name', 'device_type', 'backed_up', 'registered_at', 'last_used_at', 'removed_at'],
    async *rowsOf(ctx) {
      // A person holds at most 20 passkeys at a time: folding them is small whatever the stream's length.
      const keys = new Map<string, { name: string | null; deviceType: string | null; backedUp: boolean; registeredAt: string | null; lastUsedAt: string | null; removedAt: string | null }>();
      for await (const e of ctx.readStream(userStream(ctx.subject.userId))) {
        const id = str(e.data.credentialId);
        if (id === null) continue;
        const k = keys.get(id);
        if (e.type === 'PasskeyRegistered') {
          keys.set(id, { name: str(e.data.name), deviceType: str(e.data.deviceType), backedUp: e.data.backedUp === true, registeredAt: str(e.data.registeredAt), lastUsedAt: null, removedAt: null });
        } else if (k && e.type === 'PasskeyRenamed') k.name = str(e.data.name);
        else if (k && e.type === 'PasskeyRemoved') k.removedAt = e.recordedAt.toISOString();
        else if (k && e.type === 'SignedIn') k.lastUsedAt = str(e.data.at);
      }
      for (const [id, k] of keys) {
        yield { credential_id: id, name: await ctx.open(k.name), device_type: k.deviceType, backed_up: k.backedUp, registered_at: k.registeredAt, last_used_at: k.lastUsedAt, removed_at: k.removedAt };
      }
    },
  }),
  fromUserStream({
    name: 'sign_ins',
    order: 35,
    description: 'Every sign-in of the person: when, by which method, from which IP address and browser.',
    columns: ['at', 'method', 'ip', 'user_agent'],
    async *rowsOf(ctx) {
      for await (const e of ctx.readStream(userStream(ctx.subject.userId))) {
        if (e.type !== 'SignedIn') continue;
        yield { at: str(e.data.at), method: str(e.data.method), ip: await ctx.open(str(e.data.ip)), user_agent: await ctx.open(str(e.data.userAgent)) };
      }
    },
  }),
  sqlSection({
    name: 'sessions',
    order: 40,
    description: 'Sessions (signed-in browsers) still kept: when started, last seen and ending, the device and the IP address. Never the session token.',
    columns: ['session_id', 'method', 'device', 'ip', 'created_at', 'last_seen_at', 'expires_at'],
    sql: 'SELECT session_id, method, device, ip, created_at, last_seen_at, expires_at FROM sessions WHERE user_id = $1 ORDER BY created_at, session_id',
    params: (ctx) => [ctx.subject.userId],
    map: async (r, ctx) => ({
      session_id: text(r.session_id),
      method: text(r.method),
      device: text(r.device),
      ip: await ctx.open(text(r.ip)),
      created_at: instant(r.created_at),
      last_seen_at: instant(r.last_seen_at),
      expires_at: instant(r.expires_at),
    }),
  }),
];

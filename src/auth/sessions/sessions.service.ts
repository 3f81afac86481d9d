/**
 * Sessions (DESIGN.md, "Accounts and sign-in"): operational state in the `sessions` table, not
 * events; a sign-in is an event on the person's stream (`SignedIn`, IP and user agent sealed
 * with their vault key). A session lives SESSION_TTL_SECONDS (7 days at most) from sign-in and
 * is never extended; every request reads its row, so a deleted or expired session is refused on
 * its very next request, on every instance.
 *
 * CSRF: each session has its own secret (@fastify/csrf), and `GET /auth/csrf` hands out tokens
 * made from it; cookie-authenticated writes carry one in `x-csrf-token` (AccountGuard checks it
 * with the Origin). A token is worthless with another session.
 */
import '@fastify/cookie';
import { randomUUID } from 'node:crypto';
import Tokens from '@fastify/csrf';
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Pool } from 'pg';
import { APP_CONFIG, AppConfig, cookieSecure } from '../../config/config';
import { CLOCK, Clock } from '../../platform/clock';
import { PG_POOL } from '../../platform/database/pg';
import { UsersService } from '../../accounts/application/users.service';
import { SignInMethod, isStaffRole } from '../../accounts/domain/user.events';
import { Principal } from '../http/principal';
import { SESSION_COOKIE, deviceLabel, hashSessionToken, isWellFormedSessionToken, newSessionToken } from './session-token';

/** last_seen_at is written at most this often per session (a read per request, not a write). */
const TOUCH_EVERY_MS = 60_000;
const PURGE_BATCH = 5_000;

export interface SessionSummary {
  id: string;
  device: string;
  method: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  current: boolean;
}

export interface SessionPrincipal extends Principal {
  csrfSecret: string;
}

interface PrincipalRow {
  session_id: string;
  user_id: string;
  account_id: string;
  roles: string[];
  csrf_secret: string;
  last_seen_at: Date;
}

@Injectable()
export class SessionsService {
  // Tokens carry the session id too, so one made for another session never verifies here.
  private readonly tokens = new Tokens({ userInfo: true });

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly users: UsersService,
  ) {}

  /**
   * Signs a person in on this browser: records the sign-in on their stream (a passkey's counter
   * is checked there, so a replayed assertion is refused before any session exists), makes the
   * session and sets its cookie.
   */
  async signIn(
    reply: FastifyReply,
    request: FastifyRequest,
    userId: string,
    method: SignInMethod,
    extra: { credentialId?: string; counter?: number } = {},
  ): Promise<{ sessionId: string }> {
    const { sessionId, token } = await this.create(userId, method, {
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? null,
      ...extra,
    });
    reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      secure: cookieSecure(this.config),
      sameSite: 'lax',
      path: '/',
      maxAge: this.config.SESSION_TTL_SECONDS,
    });
    return { sessionId };
  }

  /** signIn without a browser: the session and the cookie's value (for signIn, and tests). */
  async create(
    userId: string,
    method: SignInMethod,
    from: { ip: string; userAgent: string | null; credentialId?: string; counter?: number },
  ): Promise<{ sessionId: string; token: string }> {
    const now = this.clock.now();
    const userAgent = from.userAgent?.slice(0, 1024) ?? null;
    const [ip, ua] = await Promise.all([
      this.users.sealFor(userId, from.ip),
      userAgent === null ? null : this.users.sealFor(userId, userAgent),
    ]);
    const passkey = from.credentialId !== undefined ? { credentialId: from.credentialId, counter: from.counter } : {};
    await this.users.execute(
      userId,
      { type: 'RecordSignIn', data: { method, at: now.toISOString(), ip, userAgent: ua, ...passkey } },
      `user:${userId}`,
    );
    const token = newSessionToken();
    const sessionId = randomUUID();
    await this.pool.query(
      `INSERT INTO sessions (session_id, token_hash, user_id, method, device, ip, csrf_secret, created_at, last_seen_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)`,
      [
        sessionId,
        hashSessionToken(token),
        userId,
        method,
        deviceLabel(userAgent ?? undefined),
        ip,
        this.tokens.secretSync(),
        now,
        new Date(now.getTime() + this.config.SESSION_TTL_SECONDS * 1000),
      ],
    );
    return { sessionId, token };
  }

  /** The person behind the request's session cookie, or null (none, malformed, unknown, expired). */
  async principalOf(request: FastifyRequest): Promise<SessionPrincipal | null> {
    const token = request.cookies?.[SESSION_COOKIE];
    if (!isWellFormedSessionToken(token)) return null;
    const now = this.clock.now();
    const { rows } = await this.pool.query<PrincipalRow>(
      `SELECT s.session_id, s.user_id, u.account_id, u.roles, s.csrf_secret, s.last_seen_at
         FROM sessions s JOIN users u ON u.user_id = s.user_id
        WHERE s.token_hash = $1 AND s.expires_at > $2`,
      [hashSessionToken(token), now],
    );
    const row = rows[0];
    if (!row) return null;
    if (now.getTime() - row.last_seen_at.getTime() >= TOUCH_EVERY_MS) {
      await this.pool.query('UPDATE sessions SET last_seen_at = $2 WHERE session_id = $1 AND last_seen_at < $2', [row.session_id, now]);
    }
    return {
      userId: row.user_id,
      accountId: row.account_id,
      roles: row.roles.filter(isStaffRole),
      via: 'session',
      sessionId: row.session_id,
      managementKeyId: null,
      csrfSecret: row.csrf_secret,
    };
  }

  csrfToken(principal: SessionPrincipal): string {
    return this.tokens.create(principal.csrfSecret, principal.sessionId!);
  }

  csrfTokenValid(principal: SessionPrincipal, token: unknown): boolean {
    return typeof token === 'string' && token.length > 0 && token.length <= 256 && this.tokens.verify(principal.csrfSecret, token, principal.sessionId!);
  }

  async list(userId: string, currentSessionId: string | null): Promise<SessionSummary[]> {
    const { rows } = await this.pool.query<{
      session_id: string;
      device: string;
      method: string;
      created_at: Date;
      last_seen_at: Date;
      expires_at: Date;
    }>(
      `SELECT session_id, device, method, created_at, last_seen_at, expires_at FROM sessions
        WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, session_id LIMIT 1000`,
      [userId, this.clock.now()],
    );
    return rows.map((r) => ({
      id: r.session_id,
      device: r.device,
      method: r.method,
      createdAt: r.created_at.toISOString(),
      lastSeenAt: r.last_seen_at.toISOString(),
      expiresAt: r.expires_at.toISOString(),
      current: r.session_id === currentSessionId,
    }));
  }

  /** Ends one of the person's sessions; false when they have no such session. */
  async end(userId: string, sessionId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM sessions WHERE session_id = $1 AND user_id = $2', [sessionId, userId]);
    return (rowCount ?? 0) > 0;
  }

  /** Ends every session of the person; how many there were. */
  async endAll(userId: string): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM sessions WHERE user_id = $1', [userId]);
    return rowCount ?? 0;
  }

  clearCookie(reply: FastifyReply): void {
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, secure: cookieSecure(this.config), sameSite: 'lax' });
  }

  /** Deletes every session past its expiry, in batches; how many. */
  async purgeExpired(): Promise<number> {
    let purged = 0;
    for (;;) {
      const { rowCount } = await this.pool.query(
        `DELETE FROM sessions WHERE session_id IN (SELECT session_id FROM sessions WHERE expires_at <= $1 LIMIT ${PURGE_BATCH})`,
        [this.clock.now()],
      );
      purged += rowCount ?? 0;
      if ((rowCount ?? 0) < PURGE_BATCH) return purged;
    }
  }
}

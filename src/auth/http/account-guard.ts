/**
 * The account API's one door. A request is from a person with a session cookie, or from a
 * script with a management key (`Authorization: Bearer tg-mgmt-…`); anything else is 401.
 *
 * Cookie-authenticated writes (any method but GET, HEAD, OPTIONS) must also prove they come
 * from our own pages: an Origin header, when sent, must be PUBLIC_URL's origin, and the
 * `x-csrf-token` header must hold a token of this session (GET /auth/csrf). Otherwise 403
 * `csrf`, before the handler runs, so nothing changes. Management-key writes need no token: a
 * browser never sends that header by itself.
 *
 * `@SessionOnly()` refuses management keys (passkeys, sessions, management keys themselves);
 * `@StaffRoles(...)` lets through only people holding one of the roles (admin holds them all),
 * and never a management key.
 */
import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata, UseFilters, UseGuards, applyDecorators, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiBearerAuth, ApiCookieAuth } from '../../platform/http/openapi-decorators';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig, publicOrigin } from '../../config/config';
import { ApiError, forbidden, unauthenticated } from '../../platform/http/api-error';
import { ApiErrorFilter } from '../../platform/http/api-error.filter';
import { ApiErrors } from '../../platform/http/openapi';
import { StaffRole } from '../../accounts/domain/user.events';
import { SessionsService } from '../sessions/sessions.service';
import { MANAGEMENT_KEY_PREFIX, ManagementKeyAuthenticators } from './management-key.port';
import { Principal, principalOf } from './principal';

const SESSION_ONLY = 'tollgate:session-only';
const STAFF_ROLES = 'tollgate:staff-roles';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const CSRF_HEADER = 'x-csrf-token';

/** Refuses management keys on this route or controller. */
export const SessionOnly = () => SetMetadata(SESSION_ONLY, true);

/** Only people holding one of these roles (or admin); implies session only. */
export const StaffRoles = (...roles: StaffRole[]) => SetMetadata(STAFF_ROLES, roles);

/** The request's Principal, in a handler's parameters. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal =>
  principalOf(ctx.switchToHttp().getRequest<FastifyRequest>()),
);

@Injectable()
export class AccountGuard implements CanActivate {
  constructor(
    private readonly sessions: SessionsService,
    private readonly managementKeys: ManagementKeyAuthenticators,
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const request = ctx.switchToHttp().getRequest<FastifyRequest>();
    const targets = [ctx.getHandler(), ctx.getClass()];
    const roles = this.reflector.getAllAndOverride<StaffRole[] | undefined>(STAFF_ROLES, targets);
    const sessionOnly = roles !== undefined || this.reflector.getAllAndOverride<boolean | undefined>(SESSION_ONLY, targets) === true;

    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!m || !m[1].startsWith(MANAGEMENT_KEY_PREFIX)) {
        throw unauthenticated(
          m && m[1].startsWith('tg-')
            ? 'an API key calls models; the account API takes a management key (tg-mgmt-…) or a session'
            : 'the Authorization header must be "Bearer tg-mgmt-…"',
        );
      }
      const key = await this.managementKeys.authenticate(m[1]);
      if (!key) throw unauthenticated('the management key is unknown or revoked');
      if (sessionOnly) throw forbidden('a management key cannot do this; sign in');
      request.principal = { userId: key.userId, accountId: key.accountId, roles: [], via: 'management_key', sessionId: null, managementKeyId: key.keyId };
      return true;
    }

    const session = await this.sessions.principalOf(request);
    if (!session) throw unauthenticated('sign in first (no valid session)');
    if (!SAFE_METHODS.has(request.method)) this.checkCsrf(request, session);
    if (roles !== undefined && !session.roles.includes('admin') && !roles.some((r) => session.roles.includes(r))) {
      throw forbidden(`this needs the role ${roles.join(' or ')}`);
    }
    const { csrfSecret: _secret, ...principal } = session;
    request.principal = principal;
    return true;
  }

  private checkCsrf(request: FastifyRequest, session: Parameters<SessionsService['csrfTokenValid']>[0]): void {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== publicOrigin(this.config)) {
      throw new ApiError('csrf', 'this write came from another site');
    }
    if (!this.sessions.csrfTokenValid(session, request.headers[CSRF_HEADER])) {
      throw new ApiError('csrf', `send the token of GET /auth/csrf in the ${CSRF_HEADER} header`);
    }
  }
}

/**
 * A controller (or route) of the account API: authenticated by AccountGuard, errors shaped by
 * ApiErrorFilter, and documented as needing a session or a management key.
 */
export const AccountApi = () =>
  applyDecorators(
    UseGuards(AccountGuard),
    UseFilters(ApiErrorFilter),
    ApiCookieAuth('tg_session'),
    ApiBearerAuth('management-key'),
    ApiErrors('unauthenticated', 'forbidden', 'csrf'),
  );

/**
 * What support staff look at about one person: their API keys' metadata (KeysService.list, as
 * `tollgate keys list --account` shows them: never a hash or a secret) and their request log
 * with each request's receipt. The person is found first, so an unknown id is user_not_found.
 */
import { Injectable } from '@nestjs/common';
import { UserRecord, UsersService } from '../../accounts/application/users.service';
import { ApiKeyRecord } from '../../keys/application/api-keys.repository';
import { KeysService } from '../../keys/application/keys.service';
import { RequestLogKeyset, RequestLogPages, RequestLogWindow } from '../../proxy/usage/request-log-pages';
import { RequestLogRow } from '../../proxy/usage/request-log.repository';

@Injectable()
export class UserActivity {
  constructor(
    private readonly users: UsersService,
    private readonly keys: KeysService,
    private readonly requestLog: RequestLogPages,
  ) {}

  async keysOf(userId: string): Promise<{ user: UserRecord; keys: ApiKeyRecord[] }> {
    const user = await this.users.get(userId);
    return { user, keys: await this.keys.list(user.accountId) };
  }

  async requestsOf(
    userId: string,
    window: RequestLogWindow,
    limit: number,
    after: RequestLogKeyset | null,
  ): Promise<{ user: UserRecord; rows: Array<{ row: RequestLogRow; keyset: RequestLogKeyset }> }> {
    const user = await this.users.get(userId);
    return { user, rows: await this.requestLog.page(user.accountId, window, limit, after) };
  }
}

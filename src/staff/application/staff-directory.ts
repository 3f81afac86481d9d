/**
 * Who holds a staff role: the ids of the people whose users row lists one (the partial index
 * users_with_roles of migrations/008 serves it). Read-only SQL on the accounts context's read
 * model; the people themselves are opened through UsersService.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';

@Injectable()
export class StaffDirectory {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Ids of every person holding at least one role, longest-standing first. */
  async staffIds(): Promise<string[]> {
    const { rows } = await this.pool.query<{ user_id: string }>("SELECT user_id FROM users WHERE roles <> '{}' ORDER BY created_at, user_id");
    return rows.map((r) => r.user_id);
  }
}

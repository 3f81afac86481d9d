/**
 * The benchmark's person signs in the way every sign-in method ends: SessionsService records
 * the sign-in on their stream and makes a session row, and the API under test authenticates
 * the cookie on every request, exactly as for a browser. It runs in a Nest context of its own
 * in this process (config, Postgres, the event store and the auth module: no HTTP), against
 * the API's database and with its encryption key.
 */
import { NestFactory } from '@nestjs/core';
import { AppConfig, loadConfig } from '../../src/config/config';
import { ConfigModule } from '../../src/config/config.module';
import { DatabaseModule } from '../../src/platform/database/database.module';
import { EventStoreModule } from '../../src/platform/event-store/event-store.module';
import { AuthModule } from '../../src/auth/auth.module';
import { UsersService } from '../../src/accounts/application/users.service';
import { SessionsService } from '../../src/auth/sessions/sessions.service';

export interface BenchAuth {
  headers: Record<string, string>;
  how: string;
}

export async function benchSignIn(env: NodeJS.ProcessEnv, email: string): Promise<BenchAuth> {
  const config: AppConfig = loadConfig(env);
  const ctx = await NestFactory.createApplicationContext(
    { module: class BenchSignIn {}, imports: [ConfigModule.forRoot(config), DatabaseModule, EventStoreModule, AuthModule] },
    { logger: false },
  );
  try {
    const user = await ctx.get(UsersService).findByEmail(email);
    if (!user) throw new Error(`no person with the address ${email}`);
    const { token } = await ctx.get(SessionsService).create(user.userId, 'cli', { ip: '127.0.0.1', userAgent: 'tollgate bench:account-api' });
    return { headers: { cookie: `tg_session=${token}` }, how: 'session cookie (tg_session)' };
  } finally {
    await ctx.close();
  }
}

import { DynamicModule, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { ExecuteAccountHandler } from '../../src/ledger/application/execute-account.handler';
import { GrantPromoCreditsHandler } from '../../src/ledger/application/grant-promo-credits.handler';
import { LedgerService } from '../../src/ledger/application/ledger.service';

@Module({})
class LedgerCommandsModule {
  static over(ledger: LedgerService): DynamicModule {
    return {
      module: LedgerCommandsModule,
      imports: [CqrsModule.forRoot()],
      providers: [{ provide: LedgerService, useValue: ledger }, ExecuteAccountHandler, GrantPromoCreditsHandler],
    };
  }
}

export interface LedgerCommandBus {
  commands: CommandBus;
  close(): Promise<void>;
}

/**
 * The real CommandBus with the ledger's real handlers, over a given LedgerService: for tests that
 * build a sender of ledger commands (billing, hold expiry) without booting the whole app.
 */
export async function ledgerCommandBus(ledger: LedgerService): Promise<LedgerCommandBus> {
  const ctx: INestApplicationContext = await NestFactory.createApplicationContext(LedgerCommandsModule.over(ledger), { logger: false });
  return { commands: ctx.get(CommandBus), close: () => ctx.close() };
}

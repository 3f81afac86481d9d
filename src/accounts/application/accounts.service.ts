/**
 * Opening an account for a new person: the person is registered on their own stream (email
 * encrypted with their vault key), then the account is opened through the ledger.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { CLOCK, Clock } from '../../platform/clock';
import { EVENT_STORE, EventStore } from '../../platform/event-store/event-store.port';
import { decideAndAppend } from '../../platform/event-store/decide-and-append';
import { PersonalDataVault } from '../../compliance/personal-data-vault';
import { deterministicId } from '../../shared/ids';
import { ExecuteAccountCommand } from '../../ledger/application/execute-account.command';
import { UserEvent, userStream } from '../domain/user.events';

export interface CreateAccountInput {
  email: string;
  /** Defaults to the decider's welcome allowance. */
  freeRequests?: number;
  actor: string;
}

export interface CreatedAccount {
  accountId: string;
  userId: string;
}

@Injectable()
export class AccountsService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly vault: PersonalDataVault,
    private readonly commands: CommandBus,
  ) {}

  async create(input: CreateAccountInput): Promise<CreatedAccount> {
    const userId = randomUUID();
    const accountId = randomUUID();
    const event: UserEvent = {
      type: 'UserRegistered',
      data: { userId, email: await this.vault.encrypt(userId, input.email) },
    };
    const registered = {
      id: deterministicId(`user:${userId}:registered`),
      ...event,
      metadata: { occurredAt: this.clock.now().toISOString(), actor: input.actor },
    };
    // A new id's stream is empty: no read first, and a conflict (never expected) is not retried.
    await decideAndAppend<undefined, void>({
      store: this.store,
      stream: userStream(userId),
      maxAttempts: 1,
      assumed: { state: undefined, version: 0n },
      load: async () => ({ state: undefined, version: await this.store.streamVersion(userStream(userId)) }),
      decide: () => ({ append: [registered], appended: () => undefined }),
    });
    await this.commands.execute(
      new ExecuteAccountCommand(
        accountId,
        { type: 'OpenAccount', data: { accountId, ownerId: userId, freeRequests: input.freeRequests } },
        { actor: input.actor },
      ),
    );
    return { accountId, userId };
  }
}

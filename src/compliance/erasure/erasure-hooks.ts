/**
 * What other parts keep about a person outside events and the tables erasure knows (a finished
 * data export, a data-subject request's free text, a breach notice's recipient) is forgotten
 * through a hook: a part registers `forget` at start (onModuleInit), and every erasure calls it
 * before the person's data key is destroyed (so a hook may still open what it must find).
 * A hook must be idempotent: an interrupted erasure runs every hook again.
 */
import { Injectable } from '@nestjs/common';

export interface ErasedPerson {
  userId: string;
  accountId: string;
}

export interface ErasureHook {
  /** Shown in errors: which part failed to forget. */
  name: string;
  forget(person: ErasedPerson): Promise<void>;
}

@Injectable()
export class ErasureHooks {
  private readonly hooks = new Map<string, ErasureHook>();

  register(hook: ErasureHook): void {
    this.hooks.set(hook.name, hook);
  }

  async forgetEverywhere(person: ErasedPerson): Promise<void> {
    for (const hook of this.hooks.values()) {
      try {
        await hook.forget(person);
      } catch (err) {
        throw new Error(`the erasure hook ${hook.name} failed: ${(err as Error).message}`);
      }
    }
  }
}

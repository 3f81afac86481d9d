/**
 * Asks the ledger whether an account is under a restriction of processing and answers what
 * a path may do for a purpose (domain/processing-restriction.ts holds the rule). The ledger's
 * stream is read after the cached version on every call (LedgerService.load), so a restriction
 * or a lift appended by another instance is seen at once.
 */
import { Injectable } from '@nestjs/common';
import { ProcessingDecision, ProcessingPurpose, whileRestricted } from '../domain/processing-restriction';
import { LedgerService } from './ledger.service';

@Injectable()
export class ProcessingRestriction {
  constructor(private readonly ledger: LedgerService) {}

  async decide(accountId: string, purpose: ProcessingPurpose): Promise<ProcessingDecision> {
    return whileRestricted(purpose, (await this.ledger.load(accountId)).state);
  }
}

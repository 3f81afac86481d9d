/**
 * Tells the person who asked how their refund request ended (completed, declined, failed): one
 * try, after the outcome is durable; a mail that cannot be sent is logged (by request id, never
 * the address) and not retried: the outcome is on their billing page either way. Sent under a
 * restriction of processing too: it answers the person's own request (ledger/domain/processing-restriction.ts).
 */
import { Injectable, Logger } from '@nestjs/common';
import { UsersService } from '../../../accounts/application/users.service';
import { Mailer } from '../../../platform/mail/mailer';
import { formatCredits } from '../../../shared/money';
import { RefundRequest } from '../domain/refund-request';

@Injectable()
export class RefundMail {
  private readonly log = new Logger('RefundMail');

  constructor(
    private readonly mailer: Mailer,
    private readonly users: UsersService,
  ) {}

  async outcome(r: RefundRequest): Promise<void> {
    const message = refundOutcomeMail(r);
    if (!message) return;
    try {
      const to = (await this.users.get(r.userId)).email;
      if (!to) return;
      await this.mailer.send({ to, ...message });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.log.warn(`refund request ${r.requestId}: the outcome mail was not sent (${typeof code === 'string' ? code : (err as Error).name})`);
    }
  }
}

export function refundOutcomeMail(r: RefundRequest): { subject: string; text: string } | null {
  const credits = formatCredits(r.amount);
  const ref = [`Purchase:  ${r.paymentId}`, `Request:   ${r.requestId}`];
  switch (r.status) {
    case 'completed':
      return {
        subject: `Refund made: ${credits} credits`,
        text: [
          `Your refund of ${credits} credits (USD ${credits}) has been made.`,
          r.method === 'card' ? 'It goes back to the card you paid with; banks usually show it within 5 to 10 days.' : `Sent back on chain in transaction ${r.txHash}.`,
          '',
          ...ref,
        ].join('\n'),
      };
    case 'declined':
      return {
        subject: 'Refund request declined',
        text: [`Your request for a refund of ${credits} credits was declined.`, `Reason:    ${r.decisionReason ?? 'none given'}`, '', ...ref, '', 'The credits stay on your account.'].join('\n'),
      };
    case 'failed':
      return {
        subject: 'Refund could not be made',
        text: [`Your refund of ${credits} credits was approved, but the payment provider would not make it.`, 'The credits stay on your account; we will be in touch.', '', ...ref].join('\n'),
      };
    default:
      return null;
  }
}

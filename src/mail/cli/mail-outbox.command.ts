/**
 * `tollgate mail outbox [--json]`: the messages a development gateway (no SMTP_URL) wrote
 * instead of sending, newest last, with the links in them, so a developer can follow a
 * sign-in link without a mail server. Deletes messages older than 24 hours first.
 */
import { Inject } from '@nestjs/common';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { parseOptions, printResult } from '../../cli/cli-options';
import { APP_CONFIG } from '../../config/config';
import { CLOCK, Clock } from '../../platform/clock';
import { MailSettings } from '../../platform/mail/mailer';
import { Outbox } from '../../platform/mail/outbox';

const options = z.object({ json: z.boolean().optional() });

@SubCommand({ name: 'outbox', description: 'list the development outbox (mail written instead of sent) and delete messages older than 24 hours' })
export class MailOutboxCommand extends CommandRunner {
  constructor(
    @Inject(APP_CONFIG) private readonly config: MailSettings,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { json } = parseOptions(options, raw);
    const dir = this.config.MAIL_OUTBOX_DIR;
    const outbox = new Outbox(dir);
    const now = this.clock.now();
    const purged = await outbox.purge(now);
    const messages = await outbox.list(now);
    const note = this.config.SMTP_URL ? ' (SMTP_URL is set: this gateway sends mail, it keeps none here)' : '';
    const human = [
      messages.length ? `${messages.length} message(s) in ${dir}${note}` : `the outbox ${dir} is empty${note}`,
      ...messages.map((m) => [`${m.date}  to ${m.to}  ${m.subject}`, ...m.links.map((l) => `  ${l}`)].join('\n')),
      ...(purged ? [`deleted ${purged} message(s) older than 24 hours`] : []),
    ].join('\n');
    printResult(json, human, {
      dir,
      purged,
      messages: messages.map((m) => ({ id: m.id, date: m.date, from: m.from, to: m.to, subject: m.subject, links: m.links })),
    });
  }

  @Option({ flags: '--json', description: 'print the messages as JSON' })
  parseJson(): boolean {
    return true;
  }
}

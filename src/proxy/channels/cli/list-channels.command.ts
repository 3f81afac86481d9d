import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { parseOptions, printResult } from '../../../cli/cli-options';
import { maskedKey } from '../channel';
import { ChannelRepository } from '../channel.repository';
import { channelJson, connectionsLabel } from './channel-cli';

const options = z.object({ json: z.boolean().optional() });

/** `tollgate channels list`: every channel, enabled or not; keys show only their last 4. */
@SubCommand({ name: 'list', description: 'list the upstream channels (keys are never shown)' })
export class ListChannelsCommand extends CommandRunner {
  constructor(private readonly channels: ChannelRepository) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { json } = parseOptions(options, raw);
    const all = await this.channels.list();
    const rows = [
      ['ID', 'NAME', 'PROVIDER', 'STATE', 'PRIORITY', 'WEIGHT', 'CONNECTIONS', 'KEY', 'SOURCE', 'BASE URL', 'MODELS'],
      ...all.map((c) => [
        c.id,
        c.name,
        c.provider,
        c.enabled ? 'enabled' : 'disabled',
        String(c.priority),
        String(c.weight),
        connectionsLabel(c),
        maskedKey(c.apiKeyLast4),
        c.source,
        c.baseUrl,
        c.models.length ? c.models.join(',') : '(all)',
      ]),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    const human = all.length
      ? rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n')
      : 'no channels (add one with `tollgate channels add`, or set OPENAI_API_KEY and the like and start the API)';
    printResult(json, human, { channels: all.map(channelJson) });
  }

  @Option({ flags: '--json', description: 'print {"channels": [...]} as JSON' })
  parseJson(): boolean {
    return true;
  }
}

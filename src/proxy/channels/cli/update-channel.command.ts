import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { parseOptions, printResult } from '../../../cli/cli-options';
import { ChannelChangeNotifier } from '../channel-change-notifier';
import { ChannelRepository } from '../channel.repository';
import { announce, channelJson, channelRef, describeChannel, maxConnections, onOff, priority, weight } from './channel-cli';

const options = z
  .object({
    channel: channelRef,
    priority: priority.optional(),
    weight: weight.optional(),
    maxConnections: maxConnections.optional(),
    http2: onOff.optional(),
    json: z.boolean().optional(),
  })
  .refine((o) => o.priority !== undefined || o.weight !== undefined || o.maxConnections !== undefined || o.http2 !== undefined, {
    message: 'nothing to change: give --priority, --weight, --max-connections or --http2',
  });

/**
 * `tollgate channels update --channel C [--priority N] [--weight N] [--max-connections N|default]
 * [--http2 on|off]`: changes a channel's routing and connection settings. Running instances
 * take it at once (Redis notice); requests already in flight finish on the old settings.
 */
@SubCommand({ name: 'update', description: "change a channel's priority, weight, connection limit or HTTP/2" })
export class UpdateChannelCommand extends CommandRunner {
  constructor(
    private readonly channels: ChannelRepository,
    private readonly notifier: ChannelChangeNotifier,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { channel, json, ...changes } = parseOptions(options, raw);
    const { record, changed } = await this.channels.update(channel, changes);
    if (changed) await announce(this.notifier);
    printResult(json, changed ? `updated channel ${describeChannel(record)}` : `channel ${record.name} (${record.id}) already had these settings`, {
      ...channelJson(record),
      changed,
    });
  }

  @Option({ flags: '--channel <id|name>', description: 'the channel, by id or name', required: true })
  parseChannel(v: string): string {
    return v;
  }

  @Option({ flags: '--priority <n>', description: 'higher is tried first' })
  parsePriority(v: string): string {
    return v;
  }

  @Option({ flags: '--weight <n>', description: 'share of traffic among channels of equal priority' })
  parseWeight(v: string): string {
    return v;
  }

  @Option({ flags: '--max-connections <n|default>', description: 'requests in flight at once per instance, 0 for no limit, default for UPSTREAM_MAX_CONNECTIONS' })
  parseMaxConnections(v: string): string {
    return v;
  }

  @Option({ flags: '--http2 <on|off>', description: 'offer HTTP/2 to an https upstream' })
  parseHttp2(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'print the channel as JSON (never the key)' })
  parseJson(): boolean {
    return true;
  }
}

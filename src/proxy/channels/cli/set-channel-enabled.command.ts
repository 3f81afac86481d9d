import { Injectable } from '@nestjs/common';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { parseOptions, printResult } from '../../../cli/cli-options';
import { ChannelChangeNotifier } from '../channel-change-notifier';
import { ChannelRepository } from '../channel.repository';
import { announce, channelJson, channelRef } from './channel-cli';

const options = z.object({ channel: channelRef, json: z.boolean().optional() });

/**
 * `disable` and `enable` differ only in the flag they set; running either twice changes nothing.
 * @Injectable so the constructor's parameter types are emitted for the subclasses to inherit.
 */
@Injectable()
abstract class SetChannelEnabled extends CommandRunner {
  protected abstract readonly enabled: boolean;

  constructor(
    private readonly channels: ChannelRepository,
    private readonly notifier: ChannelChangeNotifier,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { channel, json } = parseOptions(options, raw);
    const state = this.enabled ? 'enabled' : 'disabled';
    const { record, changed } = await this.channels.setEnabled(channel, this.enabled);
    if (changed) await announce(this.notifier);
    const human = changed ? `${state} channel ${record.name} (${record.id})` : `channel ${record.name} (${record.id}) was already ${state}`;
    printResult(json, human, { ...channelJson(record), changed });
  }

  @Option({ flags: '--channel <id|name>', description: 'the channel, by id or name', required: true })
  parseChannel(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'print the channel as JSON' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({ name: 'disable', description: 'stop routing requests to a channel (takes effect at once on every instance)' })
export class DisableChannelCommand extends SetChannelEnabled {
  protected readonly enabled = false;
}

@SubCommand({ name: 'enable', description: 'route requests to a disabled channel again' })
export class EnableChannelCommand extends SetChannelEnabled {
  protected readonly enabled = true;
}

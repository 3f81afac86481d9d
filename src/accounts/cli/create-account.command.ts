import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { cliActor } from '../../cli/cli-actor';
import { parseOptions, printResult } from '../../cli/cli-options';
import { UsersService } from '../application/users.service';

// zod's default email rule wants a top-level domain of two letters or more, so it refuses
// real addresses such as a@b.c; the WHATWG rule (what browsers check an <input type=email>
// against) is permissive about domains and still refuses spaces, empty parts and "..".
const emailAddress = z.email({ pattern: z.regexes.html5Email, error: 'must be an email address' });

const options = z.object({
  email: z.string({ error: 'is required' }).trim().max(254, 'is too long').pipe(emailAddress),
  freeRequests: z
    .string()
    .regex(/^\d{1,7}$/, 'must be a whole number from 0 to 9999999')
    .transform(Number)
    .optional(),
  json: z.boolean().optional(),
});

/** `tollgate accounts create --email E [--free-requests N]`: registers a person and opens their account; a known address is refused. */
@SubCommand({ name: 'create', description: 'register a person and open their credit account' })
export class CreateAccountCommand extends CommandRunner {
  constructor(private readonly users: UsersService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { email, freeRequests, json } = parseOptions(options, raw);
    const { accountId, userId } = await this.users.registerByOperator(email, cliActor(), freeRequests);
    printResult(json, accountId, { accountId, userId });
  }

  @Option({ flags: '--email <address>', description: "the person's email (stored encrypted)", required: true })
  parseEmail(value: string): string {
    return value;
  }

  @Option({ flags: '--free-requests <n>', description: 'free requests to start with (default 20)' })
  parseFreeRequests(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print {"accountId","userId"} as JSON' })
  parseJson(): boolean {
    return true;
  }
}

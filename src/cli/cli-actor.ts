import { userInfo } from 'node:os';

/** Who ran a command, for the audit metadata of the events it writes. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    // A container user with no passwd entry has a uid and no name.
    return `cli:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

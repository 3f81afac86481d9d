/**
 * The base of every context's errors: a stable `code` that callers and scripts match on (the
 * message is for people and may change), and typed `details` for whatever a surface needs to
 * word its answer (the amounts of an insufficient_credits, the field at fault).
 *
 * Codes mean one thing across contexts: where two contexts share a code (account_not_found,
 * version_conflict) it is the same condition. Each surface has one mapper from code to its own
 * answer: src/cli/cli-errors.ts for the `tollgate` command, src/proxy/http/domain-error-map.ts
 * for the proxy's three API formats. A code no mapper knows is an unexpected error there.
 */
export abstract class DomainError<Code extends string = string, Details extends object = Record<string, never>> extends Error {
  /** Stated by each subclass, so logs and stack traces name the class whatever the build does to names. */
  abstract override readonly name: string;

  /**
   * Whether people are shown the code beside the message (the CLI prints `message (code)`).
   * False for the errors whose message alone has always been the output, which scripts match.
   */
  readonly showsCode: boolean = true;

  constructor(
    readonly code: Code,
    message: string,
    readonly details: Details = {} as Details,
  ) {
    super(message);
  }
}

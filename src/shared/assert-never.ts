/** The end of an exhaustive switch over a discriminated union: a case left out fails to compile. */
export function assertNever(x: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
}

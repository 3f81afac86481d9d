/** A count with its noun, singular for exactly one: `plural(1, 'person', 'people')` is "1 person", 0 and 2 take the plural. */
export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

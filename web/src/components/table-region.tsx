/**
 * The region a wide table scrolls sideways in (`.table-wrap`): focusable, so a keyboard can
 * scroll it (axe: scrollable-region-focusable), and named, since a region without a name is
 * no landmark to a screen reader. Every `.table-wrap` is one of these.
 */
import type { ComponentChildren } from 'preact';

type Name = { label: string; labelledBy?: never } | { labelledBy: string; label?: never };

export function TableRegion({ children, ...name }: Name & { children: ComponentChildren }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={name.label} aria-labelledby={name.labelledBy}>
      {children}
    </div>
  );
}

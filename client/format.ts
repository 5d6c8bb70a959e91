import type { Json } from '../src/broadcaster/protocol';
import type { Money } from '../src/database/business-counters';

/** How the dashboard writes an instant: in the viewer's own locale and time zone. */
export function when(iso: string): string {
  return new Date(iso).toLocaleString();
}

/** Amounts of several currencies side by side, never converted: `USD 300.00 · EUR 120.00`; `—` for none. */
export function money(amounts: readonly Json<Money>[]): string {
  if (!amounts.length) return '—';
  return amounts.map(({ currency, amount }) => new Intl.NumberFormat(undefined, { style: 'currency', currency, currencyDisplay: 'code' }).format(amount)).join(' · ');
}

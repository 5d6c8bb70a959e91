/**
 * The dashboard's chart of bookings per day (the `daily` part of GET /api/dashboard's business counters), drawn as
 * plain SVG: per day a group of three bars (booked, canceled, no-show) with their numbers written above them, and
 * below, one band per currency with the day's booked revenue. Readable without colour: each series has its own fill
 * pattern and a text legend, every number is written out, each day has a <title> for pointers and screen readers, and
 * the same numbers are in a table beside it. Everything is set as text, never as HTML.
 */
import type { Json } from '../src/broadcaster/protocol';
import type { BookingDay, Money } from '../src/database/business-counters';
import { money } from './format';

type Day = Json<BookingDay>;

const SVG = 'http://www.w3.org/2000/svg';
const SERIES = [
  { key: 'booked', label: 'Booked', fill: 'url(#chart-solid)' },
  { key: 'canceled', label: 'Canceled', fill: 'url(#chart-hatched)' },
  { key: 'noShow', label: 'No-show', fill: 'url(#chart-dotted)' },
] as const;
const BAR = 9;
const DAY_WIDTH = SERIES.length * BAR + 10;
const LEFT = 44;
const TOP = 14;
const COUNTS_HEIGHT = 110;
const DAY_LABEL_HEIGHT = 28;
const BAND_HEIGHT = 46;

/** Draws `days` into `figure` (its SVG) and `table` (the same numbers), replacing what was there. */
export function renderBookingsChart(figure: HTMLElement, table: HTMLTableElement, days: readonly Day[]): void {
  const currencies = [...new Set(days.flatMap((day) => day.bookedRevenue.map((amount) => amount.currency)))].sort();
  const width = LEFT + days.length * DAY_WIDTH + 8;
  const height = TOP + COUNTS_HEIGHT + DAY_LABEL_HEIGHT + currencies.length * BAND_HEIGHT;
  const svg = node('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-labelledby': 'chart-svg-title' });
  svg.append(
    node('title', { id: 'chart-svg-title' }, `Bookings per day, ${days[0]?.day ?? ''} to ${days.at(-1)?.day ?? ''}: booked, canceled and no-show, and booked revenue`),
    patterns(),
  );

  const maxCount = Math.max(1, ...days.flatMap((day) => SERIES.map((series) => day[series.key])));
  const baseline = TOP + COUNTS_HEIGHT;
  svg.append(
    node('line', { x1: LEFT - 4, x2: width, y1: baseline, y2: baseline, class: 'chart-axis' }),
    node('text', { x: LEFT - 8, y: baseline, 'text-anchor': 'end', class: 'chart-scale' }, '0'),
    node('text', { x: LEFT - 8, y: TOP + 8, 'text-anchor': 'end', class: 'chart-scale' }, String(maxCount)),
  );
  const maxRevenue = new Map(currencies.map((currency) => [currency, Math.max(0, ...days.map((day) => amountIn(day.bookedRevenue, currency)))]));
  currencies.forEach((currency, band) => {
    const bottom = baseline + DAY_LABEL_HEIGHT + (band + 1) * BAND_HEIGHT - 4;
    svg.append(
      node('line', { x1: LEFT - 4, x2: width, y1: bottom, y2: bottom, class: 'chart-axis' }),
      node('text', { x: LEFT - 8, y: bottom, 'text-anchor': 'end', class: 'chart-currency' }, currency),
    );
  });

  days.forEach((day, index) => {
    const x = LEFT + index * DAY_WIDTH + 4;
    const group = node('g', { 'data-day': day.day, class: 'chart-day' });
    group.append(node('title', {}, describe(day)));
    SERIES.forEach((series, position) => {
      const value = day[series.key];
      const barHeight = Math.round((value / maxCount) * (COUNTS_HEIGHT - 12));
      const barX = x + position * BAR;
      group.append(node('rect', { x: barX, y: baseline - barHeight, width: BAR - 1, height: barHeight, fill: series.fill, class: 'chart-bar', 'data-series': series.key, 'data-value': value }));
      if (value > 0) {
        group.append(node('text', { x: barX + (BAR - 1) / 2, y: baseline - barHeight - 2, 'text-anchor': 'middle', class: 'chart-value', 'data-series': series.key }, String(value)));
      }
    });
    group.append(node('text', { x: x + (SERIES.length * BAR) / 2, y: baseline + 12, 'text-anchor': 'middle', class: 'chart-day-label' }, dayLabel(day.day, index)));
    currencies.forEach((currency, band) => {
      const amount = amountIn(day.bookedRevenue, currency);
      const bottom = baseline + DAY_LABEL_HEIGHT + (band + 1) * BAND_HEIGHT - 4;
      const barHeight = Math.round((amount / (maxRevenue.get(currency) || 1)) * (BAND_HEIGHT - 18));
      group.append(node('rect', { x, y: bottom - barHeight, width: SERIES.length * BAR - 1, height: barHeight, fill: 'url(#chart-cross)', class: 'chart-bar', 'data-series': `revenue-${currency}`, 'data-value': amount }));
      if (amount > 0) {
        group.append(node('text', { x: x + (SERIES.length * BAR) / 2, y: bottom - barHeight - 2, 'text-anchor': 'middle', class: 'chart-value', 'data-series': `revenue-${currency}` }, compact(amount)));
      }
    });
    svg.append(group);
  });

  figure.replaceChildren(legend(), element('div', { className: 'chart-scroll' }, [svg]));
  fillDays(table, days);
}

function describe(day: Day): string {
  return `${day.day}: ${day.booked} booked, ${day.canceled} canceled, ${day.noShow} no-show; booked revenue ${money(day.bookedRevenue)}`;
}

/** The day of the month; with the month on the first bar and on the 1st. */
function dayLabel(date: string, index: number): string {
  const [, month, dayOfMonth] = date.split('-');
  return index === 0 || dayOfMonth === '01' ? `${dayOfMonth}/${month}` : String(Number(dayOfMonth));
}

function amountIn(amounts: readonly Json<Money>[], currency: string): number {
  return amounts.find((amount) => amount.currency === currency)?.amount ?? 0;
}

/** Short enough for a bar: 1234 -> 1.2k. The table and the titles give it exactly. */
function compact(amount: number): string {
  return amount.toLocaleString('en', { notation: 'compact', maximumFractionDigits: 1 });
}

function legend(): HTMLElement {
  const items = [...SERIES.map((series) => ({ label: series.label, fill: series.fill })), { label: 'Booked revenue (one band per currency)', fill: 'url(#chart-cross)' }];
  return element(
    'ul',
    { className: 'chart-legend' },
    items.map(({ label, fill }) => {
      // Its fill is one of the chart's patterns (ids are the document's).
      const swatch = node('svg', { width: 14, height: 14, 'aria-hidden': 'true' });
      swatch.append(node('rect', { x: 0.5, y: 0.5, width: 13, height: 13, fill, class: 'chart-bar' }));
      return element('li', {}, [swatch, document.createTextNode(` ${label}`)]);
    }),
  );
}

/** Solid, hatched, dotted and cross-hatched fills: the series differ by their pattern, not only by their shade. */
function patterns(): SVGElement {
  const defs = node('defs', {});
  const pattern = (id: string, ...shapes: SVGElement[]) => {
    const element = node('pattern', { id, width: 4, height: 4, patternUnits: 'userSpaceOnUse' });
    element.append(...shapes);
    return element;
  };
  defs.append(
    pattern('chart-solid', node('rect', { width: 4, height: 4, class: 'chart-ink' })),
    pattern('chart-hatched', node('rect', { width: 4, height: 4, class: 'chart-paper' }), node('path', { d: 'M-1,1 l2,-2 M0,4 l4,-4 M3,5 l2,-2', class: 'chart-stroke' })),
    pattern('chart-dotted', node('rect', { width: 4, height: 4, class: 'chart-paper' }), node('circle', { cx: 2, cy: 2, r: 1, class: 'chart-ink' })),
    pattern('chart-cross', node('rect', { width: 4, height: 4, class: 'chart-paper' }), node('path', { d: 'M0,0 l4,4 M4,0 l-4,4', class: 'chart-stroke' })),
  );
  return defs;
}

function fillDays(table: HTMLTableElement, days: readonly Day[]): void {
  const cell = (content: string | number) => element('td', {}, [document.createTextNode(String(content))]);
  table.tBodies[0].replaceChildren(
    ...days.map((day) => {
      const row = element('tr', {}, [
        element('th', { scope: 'row' }, [document.createTextNode(day.day)]),
        cell(day.booked),
        cell(day.canceled),
        cell(day.noShow),
        cell(money(day.bookedRevenue)),
      ]);
      row.dataset.day = day.day;
      return row;
    }),
  );
}

function node(tag: string, attributes: Record<string, string | number>, text?: string): SVGElement {
  const created = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) created.setAttribute(name, String(value));
  if (text !== undefined) created.textContent = text;
  return created;
}

function element(tag: string, properties: object, children: Node[]): HTMLElement {
  const created = Object.assign(document.createElement(tag), properties);
  created.append(...children);
  return created;
}

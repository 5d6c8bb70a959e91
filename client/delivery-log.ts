/**
 * The dashboard's delivery log: the deliveries table, read from GET /api/deliveries with the filter above it
 * (outcome, event, invitee email, days received), and a Replay button on each failed or unprocessed delivery, which
 * POSTs /api/deliveries/{id}/replay and says what came of it. After a replay the log is read again every few seconds
 * until the delivery has an outcome: no live event announces one. Every value is set as text, never as HTML.
 */
import type { z } from 'zod';
import type { Json } from '../src/broadcaster/protocol';
import type { deliveryPageSchema, deliveryReplaySchema } from '../src/receiver/delivery-log-schemas';
import { when } from './format';

type Page = Json<z.output<typeof deliveryPageSchema>>;
type Delivery = Page['data'][number];
type Replay = z.output<typeof deliveryReplaySchema>;

const FOLLOW_EVERY_MS = 2_000;
const FOLLOW_AT_MOST = 30;

export class DeliveryLog {
  private reading: Promise<void> | undefined;
  private readAgain = false;
  /** a replayed delivery, read again until it is no longer `processing` */
  private following: { id: string; reads: number } | undefined;
  private readonly form = node<HTMLFormElement>('#delivery-filter');
  private readonly result = node('#delivery-log-result');

  constructor(private readonly token: string) {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.refresh();
    });
  }

  /** Reads the log with the filter; one read at a time, the last ask read after it. Never throws. */
  async refresh(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.readAgain = false;
        try {
          this.render(await this.read());
        } catch (error) {
          this.result.textContent = `Delivery log unavailable: ${(error as Error).message}`;
        }
      } while (this.readAgain);
    })();
    try {
      await this.reading;
    } finally {
      this.reading = undefined;
    }
    this.follow();
  }

  private async read(): Promise<Page> {
    const response = await fetch(`/api/deliveries?${this.query()}`, { headers: { authorization: `Bearer ${this.token}`, accept: 'application/json' } });
    const body = (await response.json()) as Page & { error?: string };
    if (!response.ok) throw new Error(body.error ?? `GET /api/deliveries answered ${response.status}`);
    return body;
  }

  /** The filter as a query; days are the viewer's, from the first day's midnight to the midnight after the last. */
  private query(): URLSearchParams {
    const query = new URLSearchParams();
    const value = (name: string) => (this.form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement).value.trim();
    for (const name of ['outcome', 'eventType', 'email']) if (value(name)) query.set(name, value(name));
    if (value('from')) query.set('from', new Date(`${value('from')}T00:00`).toISOString());
    if (value('to')) {
      const end = new Date(`${value('to')}T00:00`);
      end.setDate(end.getDate() + 1);
      query.set('to', end.toISOString());
    }
    return query;
  }

  private render(page: Page): void {
    const table = node('#deliveries');
    const body = table.querySelector('tbody')!;
    const headings = [...table.querySelectorAll('thead th')].map((th) => th.textContent ?? '');
    node('#delivery-log-count').textContent = `${page.data.length} of ${page.pagination.total}`;
    if (!page.data.length) {
      const empty = cell(this.query().size ? 'No deliveries match.' : 'No deliveries yet.', 'empty');
      empty.colSpan = headings.length;
      body.replaceChildren(row([empty]));
      return;
    }
    body.replaceChildren(
      ...page.data.map((delivery) => {
        const cells = [
          cell(when(delivery.receivedAt)),
          cell(delivery.eventType ?? '—'),
          cell(delivery.outcome, `outcome-${delivery.outcome}`),
          cell([delivery.detail, delivery.outcome === 'failed' ? delivery.inviteeUri : null].filter(Boolean).join(' · ')),
          delivery.workflowUrl && delivery.workflowId ? linkCell(delivery.workflowUrl, delivery.workflowId) : cell('—'),
          this.actionCell(delivery),
        ];
        cells.forEach((td, index) => td.setAttribute('data-label', headings[index] ?? ''));
        const tr = row(cells);
        tr.dataset.id = delivery.id;
        return tr;
      }),
    );
  }

  private actionCell(delivery: Delivery): HTMLTableCellElement {
    if (!delivery.replayable) return cell('');
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Replay';
    button.addEventListener('click', () => void this.replay(delivery, button));
    const td = document.createElement('td');
    td.append(button);
    return td;
  }

  private async replay(delivery: Delivery, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    this.result.textContent = `Replaying the ${delivery.eventType ?? ''} delivery of ${when(delivery.receivedAt)}…`;
    try {
      const response = await fetch(`/api/deliveries/${encodeURIComponent(delivery.id)}/replay`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.token}`, accept: 'application/json' },
      });
      const body = (await response.json()) as Replay & { error?: string };
      if (response.ok) {
        this.result.textContent = body.duplicate
          ? `Already being processed as ${body.workflowId}.`
          : `Replayed: ${body.workflowId} is processing it; its outcome shows in the log.`;
        this.following = { id: delivery.id, reads: 0 };
      } else {
        this.result.textContent = `Not replayed: ${body.error ?? `the server answered ${response.status}`}`;
      }
    } catch (error) {
      this.result.textContent = `Not replayed: ${(error as Error).message}`;
    }
    await this.refresh();
  }

  /** While the replayed delivery shows as anything that is not its new outcome, reads the log again soon. */
  private follow(): void {
    const following = this.following;
    if (!following) return;
    const shown = document.querySelector<HTMLElement>(`#deliveries tr[data-id="${following.id}"] td[class^="outcome-"]`)?.textContent;
    if (shown === 'processed' || shown === 'replayed' || following.reads >= FOLLOW_AT_MOST) {
      this.following = undefined;
      return;
    }
    following.reads += 1;
    setTimeout(() => void this.refresh(), FOLLOW_EVERY_MS);
  }
}

function row(cells: HTMLTableCellElement[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.append(...cells);
  return tr;
}

function cell(content: string, className?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  if (className) td.className = className;
  td.textContent = content;
  return td;
}

function linkCell(href: string, label: string): HTMLTableCellElement {
  const link = Object.assign(document.createElement('a'), { href, target: '_blank', rel: 'noopener noreferrer', textContent: label });
  const td = document.createElement('td');
  td.append(link);
  return td;
}

function node<Element extends HTMLElement = HTMLElement>(selector: string): Element {
  return document.querySelector<Element>(selector)!;
}

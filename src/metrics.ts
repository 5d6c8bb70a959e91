/**
 * Get-or-create for prom-client's default registry: a module that defines metrics may be loaded more than once in a
 * process (jest's module registries), and prom-client refuses a second metric of the same name.
 */
import { Counter, Histogram, register } from 'prom-client';

export function counter<T extends string>(name: string, help: string, labelNames: readonly T[]): Counter<T> {
  return (register.getSingleMetric(name) as Counter<T> | undefined) ?? new Counter({ name, help, labelNames });
}

export function histogram<T extends string = never>(name: string, help: string, buckets: number[], labelNames: readonly T[] = []): Histogram<T> {
  return (register.getSingleMetric(name) as Histogram<T> | undefined) ?? new Histogram({ name, help, buckets, labelNames });
}

/**
 * The `organization` label (never personal data): a connection's organization (for the personal token connection,
 * the Calendly organization URI of CALENDLY_API_TOKEN); `none` for what has none, or whose organization is not known yet.
 */
export function organizationLabel(organization: string | null | undefined): string {
  return organization ?? 'none';
}

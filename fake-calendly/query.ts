/** Reads and checks query parameters, collecting every problem into one 400 Invalid Argument. */
import { invalidArgument, type ErrorDetail } from './errors';

export class QueryReader {
  private readonly problems: ErrorDetail[] = [];

  constructor(private readonly params: URLSearchParams) {}

  optional(name: string): string | undefined {
    const value = this.params.get(name);
    return value === null || value === '' ? undefined : value;
  }

  required(name: string): string | undefined {
    const value = this.optional(name);
    if (value === undefined) this.problem(name, 'is missing');
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problem(name, `must be one of: ${allowed.join(', ')}`);
    return undefined;
  }

  /** Epoch milliseconds of a date-time parameter. */
  time(name: string): number | undefined {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    const millis = Date.parse(value);
    if (Number.isNaN(millis)) this.problem(name, 'must be a valid date-time, e.g. 2020-01-02T03:04:05.678123Z');
    return Number.isNaN(millis) ? undefined : millis;
  }

  problem(parameter: string, message: string): void {
    this.problems.push({ parameter, message });
  }

  /** Throws 400 Invalid Argument listing every problem found so far. */
  check(): void {
    if (this.problems.length > 0) throw invalidArgument([...this.problems]);
  }
}

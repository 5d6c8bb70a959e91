/** Test control: the next N requests under a path prefix answer an error status instead of being served. */
import type { InjectedFailure } from './types';

interface PendingFailure {
  pathPrefix: string;
  status: InjectedFailure['status'];
  remaining: number;
}

export class FaultInjector {
  private readonly pending: PendingFailure[] = [];

  constructor(private readonly baseUrl: string) {}

  /** `pathPrefix` may also be a full resource URI of this fake, e.g. an event's `uri`. */
  failNext(pathPrefix: string, { status, count }: InjectedFailure): void {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
    const path = pathPrefix.startsWith(this.baseUrl) ? pathPrefix.slice(this.baseUrl.length) : pathPrefix;
    this.pending.push({ pathPrefix: path, status, remaining: count });
  }

  /** The status to answer for this request, if a pending failure matches; consumes one. */
  take(path: string): InjectedFailure['status'] | undefined {
    const index = this.pending.findIndex((failure) => path.startsWith(failure.pathPrefix));
    const failure = this.pending[index];
    if (!failure) return undefined;
    failure.remaining -= 1;
    if (failure.remaining === 0) this.pending.splice(index, 1);
    return failure.status;
  }
}

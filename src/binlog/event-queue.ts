/**
 * Bounded single-consumer queue between the binlog connection and its consumer, by event count
 * and bytes. `push` never drops: it reports `full` so the producer pauses its source (the
 * connection) and is told through `onDrain` when the consumer brought it below half.
 *
 * Hot path (one push and one take per binlog event): items and their byte sizes live in two
 * parallel arrays (no wrapper object per event), and `tryTake`/`takeBatch` hand out queued
 * items synchronously so a consumer only awaits when the queue is empty.
 */
export class EventQueue<T> {
  private items: (T | undefined)[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;
  private waiter: ((v: void) => void) | undefined;
  private ended = false;
  private failure: unknown;
  private wasFull = false;

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
    private readonly onDrain: () => void,
  ) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get byteSize(): number {
    return this.bytes;
  }

  get isFull(): boolean {
    return this.items.length - this.head >= this.maxEvents || this.bytes >= this.maxBytes;
  }

  /** Enqueue; returns true when the queue is now full (pause the producer). */
  push(item: T, bytes: number): boolean {
    if (this.ended) return false;
    this.items.push(item);
    this.sizes.push(bytes);
    this.bytes += bytes;
    if (this.waiter !== undefined) this.wake();
    if (this.isFull) {
      this.wasFull = true;
      return true;
    }
    return false;
  }

  /** End the stream: consumers drain what is queued, then get done (or `err` thrown). */
  end(err?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    this.wake();
  }

  /** Drop queued items and end (close()). */
  clear(): void {
    this.items = [];
    this.sizes = [];
    this.head = 0;
    this.bytes = 0;
    this.end();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  private drained(): void {
    if (this.wasFull && this.items.length - this.head <= this.maxEvents / 2 && this.bytes <= this.maxBytes / 2) {
      this.wasFull = false;
      this.onDrain();
    }
  }

  /** The next queued item, or undefined when none is queued right now (synchronous). */
  tryTake(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const it = this.items[this.head];
    this.items[this.head] = undefined;
    this.bytes -= this.sizes[this.head] ?? 0;
    this.head++;
    this.compact();
    this.drained();
    return it;
  }

  /**
   * Up to `max` queued items (possibly none), synchronously, in order. With `startsBatch`, an
   * item it is true for is only ever the first of a batch (the batch ends before the next one).
   */
  takeBatch(max: number, startsBatch?: (item: T) => boolean): T[] {
    let n = Math.min(max, this.items.length - this.head);
    if (n <= 0) return [];
    if (startsBatch !== undefined) {
      for (let i = 1; i < n; i++) {
        if (startsBatch(this.items[this.head + i] as T)) {
          n = i;
          break;
        }
      }
    }
    const out = this.items.slice(this.head, this.head + n) as T[];
    for (let i = this.head; i < this.head + n; i++) {
      this.items[i] = undefined;
      this.bytes -= this.sizes[i] ?? 0;
    }
    this.head += n;
    this.compact();
    this.drained();
    return out;
  }

  /** Resolves when an item is queued or the queue ended (the end error is thrown by `next`). */
  private async waitForItem(): Promise<void> {
    while (this.head >= this.items.length && !this.ended) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Throws the end error once, or reports done, when ended and empty. */
  private endResult(): IteratorResult<T> {
    if (this.failure !== undefined) {
      const f = this.failure;
      this.failure = undefined;
      throw f;
    }
    return { value: undefined, done: true };
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.head < this.items.length) return { value: this.tryTake() as T, done: false };
      if (this.ended) return this.endResult();
      await this.waitForItem();
    }
  }

  /**
   * Up to `max` items; waits only while the queue is empty. An empty array means the stream
   * ended (the end error, if any, is thrown instead). `startsBatch`: as for takeBatch().
   */
  async nextBatch(max: number, startsBatch?: (item: T) => boolean): Promise<T[]> {
    for (;;) {
      if (this.head < this.items.length) return this.takeBatch(max, startsBatch);
      if (this.ended) {
        this.endResult();
        return [];
      }
      await this.waitForItem();
    }
  }
}

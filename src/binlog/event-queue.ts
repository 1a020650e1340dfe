/**
 * Bounded single-consumer queue between the binlog connection and its consumer, by event count
 * and bytes. `push` never drops: it reports `full` so the producer pauses its source (the
 * connection) and is told through `onDrain` when the consumer brought it below half.
 */
export interface QueueItem<T> {
  item: T;
  bytes: number;
}

export class EventQueue<T> {
  private buf: QueueItem<T>[] = [];
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
    return this.buf.length - this.head;
  }

  get byteSize(): number {
    return this.bytes;
  }

  get isFull(): boolean {
    return this.size >= this.maxEvents || this.bytes >= this.maxBytes;
  }

  /** Enqueue; returns true when the queue is now full (pause the producer). */
  push(item: T, bytes: number): boolean {
    if (this.ended) return false;
    this.buf.push({ item, bytes });
    this.bytes += bytes;
    this.wake();
    if (this.isFull) this.wasFull = true;
    return this.isFull;
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
    this.buf = [];
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

  private take(): T | undefined {
    if (this.head >= this.buf.length) return undefined;
    const it = this.buf[this.head];
    this.buf[this.head] = undefined as unknown as QueueItem<T>;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.buf.length) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
    if (!it) return undefined;
    this.bytes -= it.bytes;
    if (this.wasFull && this.size <= this.maxEvents / 2 && this.bytes <= this.maxBytes / 2) {
      this.wasFull = false;
      this.onDrain();
    }
    return it.item;
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      const v = this.take();
      if (v !== undefined) return { value: v, done: false };
      if (this.ended) {
        if (this.failure !== undefined) {
          const f = this.failure;
          this.failure = undefined;
          throw f;
        }
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }
}

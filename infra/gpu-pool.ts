/**
 * The GPU indexes of one host. The worker's activity slots equal the number of GPUs, so an activity
 * never waits here in practice; the pool makes sure two running activities never share an index.
 */
export class GpuPool {
  private readonly free: number[];
  private readonly waiting: ((index: number) => void)[] = [];

  constructor(readonly size: number) {
    this.free = Array.from({ length: size }, (_, i) => i);
  }

  async acquire(): Promise<{ index: number; release: () => void }> {
    const index = this.free.shift() ?? (await new Promise<number>((resolve) => this.waiting.push(resolve)));
    let released = false;
    return {
      index,
      release: () => {
        if (released) return;
        released = true;
        const next = this.waiting.shift();
        if (next) next(index);
        else this.free.push(index);
      },
    };
  }

  get available(): number {
    return this.free.length;
  }
}

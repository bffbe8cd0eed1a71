// A set that keeps at most `max` keys, dropping the oldest insertion first.

export class BoundedSet {
  private readonly keys = new Set<string>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  add(key: string): void {
    this.keys.delete(key); // re-adding makes it the newest
    this.keys.add(key);
    while (this.keys.size > this.max) {
      const oldest = this.keys.values().next();
      if (oldest.done === true) break;
      this.keys.delete(oldest.value);
    }
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  delete(key: string): void {
    this.keys.delete(key);
  }

  get size(): number {
    return this.keys.size;
  }
}

// A minimal observable value for useSyncExternalStore: controllers (plain classes that
// hold state) publish immutable snapshots; React containers subscribe and re-render.

export type Listener = () => void;

export class Store<T> {
  private value: T;
  private readonly listeners = new Set<Listener>();

  constructor(initial: T) {
    this.value = initial;
  }

  get = (): T => this.value;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  set(next: T): void {
    if (Object.is(next, this.value)) return;
    this.value = next;
    for (const l of [...this.listeners]) l();
  }

  update(patch: Partial<T>): void {
    this.set({ ...this.value, ...patch });
  }
}

/**
 * Poll a resource until it is done, backing off while nothing changes.
 */
import { DEFAULT_BACKOFF, IBackoffOptions, nextPollDelay } from './state';

export class Poller<T> {
  constructor(options: Poller.IOptions<T>) {
    this._options = options;
    this._backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  /** Whether the poller is polling. */
  get isRunning(): boolean {
    return this._running;
  }

  /** The delay before the next poll, `null` when none is scheduled. */
  get nextDelay(): number | null {
    return this._timer === null ? null : this._delay;
  }

  /**
   * Start polling. The first load happens after `initialDelay` (0 by default:
   * at once). Starting a running poller does nothing.
   */
  start(initialDelay = 0): void {
    if (this._running) {
      return;
    }
    this._running = true;
    this._delay = null;
    this._schedule(initialDelay);
  }

  /** Stop polling; an answer still on its way is dropped. */
  stop(): void {
    this._running = false;
    this._generation++;
    this._clear();
  }

  /** Poll now and reset the backoff (e.g. after the user acted). */
  poke(): void {
    if (!this._running) {
      this.start();
      return;
    }
    // Drop a load on its way: its answer would start a second loop.
    this._generation++;
    this._delay = null;
    this._clear();
    this._schedule(0);
  }

  private _schedule(delay: number): void {
    const generation = this._generation;
    this._timer = setTimeout(() => {
      this._timer = null;
      void this._tick(generation);
    }, delay);
  }

  private _clear(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private async _tick(generation: number): Promise<void> {
    const { load, fingerprint, isDone, onData, onError } = this._options;
    let changed = false;
    try {
      const data = await load();
      if (generation !== this._generation || !this._running) {
        return;
      }
      const print = fingerprint(data);
      changed = this._fingerprint !== null && print !== this._fingerprint;
      this._fingerprint = print;
      onData(data);
      if (isDone(data)) {
        this._running = false;
        return;
      }
    } catch (error) {
      if (generation !== this._generation || !this._running) {
        return;
      }
      onError?.(error);
    }
    if (generation !== this._generation || !this._running) {
      return;
    }
    this._delay = nextPollDelay(this._delay, changed, this._backoff);
    this._schedule(this._delay);
  }

  private _options: Poller.IOptions<T>;
  private _backoff: IBackoffOptions;
  private _running = false;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _delay: number | null = null;
  private _fingerprint: string | null = null;
  private _generation = 0;
}

export namespace Poller {
  export interface IOptions<T> {
    /** Fetch the resource. */
    load: () => Promise<T>;
    /** What of the resource matters: a change resets the backoff. */
    fingerprint: (data: T) => string;
    /** Whether polling can stop (e.g. the execution is final). */
    isDone: (data: T) => boolean;
    /** Receive each answer. */
    onData: (data: T) => void;
    /** Receive each failure; polling goes on with backoff. */
    onError?: (error: unknown) => void;
    /** The backoff; `DEFAULT_BACKOFF` when not given. */
    backoff?: IBackoffOptions;
  }
}

// Where measured kernel choices are kept between runs: per adapter, driver and kernel version (the
// key), the matrix-product variant measured fastest for each product shape, and the variants that
// failed `check` on that adapter. In Node a JSON file in the user's cache directory
// ($WEBGPU_MLP_CACHE_DIR, else $XDG_CACHE_HOME/webgpu-mlp, else ~/.cache/webgpu-mlp); in a browser
// IndexedDB; elsewhere (or with WEBGPU_MLP_CACHE_DIR=off) memory only, for the life of the process.
// A store that cannot be read or written is no error: tuning is only ever an optimization, so it
// then measures again next time.
import type { MatmulVariantName } from '../kernels/matmul.ts';

/** One product's measurement: milliseconds per run of each variant timed, and the fastest. */
export interface TunedProduct {
  readonly variant: MatmulVariantName;
  readonly ms: Readonly<Partial<Record<MatmulVariantName, number>>>;
  /** GFLOP/s of the chosen variant. */
  readonly gflops: number;
  readonly measuredAt: string;
}

/** What is known of one adapter (and driver, and version of the kernels). */
export interface AdapterTuning {
  /** The adapter in words, for people reading the file. */
  readonly adapter: string;
  /** Product key (MatmulProduct.key) → its measurement. */
  readonly products: Readonly<Record<string, TunedProduct>>;
  /** Variants checked against the CPU reference here: 'passed', or what failed. */
  readonly checked: Readonly<Partial<Record<MatmulVariantName, string>>>;
}

export interface TuningStore {
  /** Where it keeps its records (a file path, "IndexedDB", "memory"). */
  readonly location: string;
  load(key: string): Promise<AdapterTuning | undefined>;
  /** Replaces the record of `key` with what `update` makes of the one stored now. */
  update(key: string, update: (current: AdapterTuning | undefined) => AdapterTuning): Promise<void>;
}

export const EMPTY_TUNING = (adapter: string): AdapterTuning => ({ adapter, products: {}, checked: {} });

/** Records kept for the life of the process. */
export class MemoryTuningStore implements TuningStore {
  readonly location = 'memory';
  private readonly records = new Map<string, AdapterTuning>();

  async load(key: string): Promise<AdapterTuning | undefined> {
    return this.records.get(key);
  }

  async update(key: string, update: (current: AdapterTuning | undefined) => AdapterTuning): Promise<void> {
    this.records.set(key, update(this.records.get(key)));
  }
}

interface TuningFile {
  readonly version: 1;
  readonly adapters: Record<string, AdapterTuning>;
}

// Node's modules are loaded on use, by a name bundlers leave alone: this file also goes to browsers.
type Fs = typeof import('node:fs/promises');
const nodeModule = <T>(name: string): Promise<T> => import(/* @vite-ignore */ name) as Promise<T>;

/** A JSON file (Node): read whole, updated by writing a temporary file and renaming it over the old one. */
export class FileTuningStore implements TuningStore {
  constructor(readonly location: string) {}

  private async read(fs: Fs): Promise<TuningFile> {
    try {
      const parsed = JSON.parse(await fs.readFile(this.location, 'utf8')) as TuningFile;
      if (parsed?.version === 1 && parsed.adapters && typeof parsed.adapters === 'object') return parsed;
    } catch {
      // Missing or unreadable: start afresh.
    }
    return { version: 1, adapters: {} };
  }

  async load(key: string): Promise<AdapterTuning | undefined> {
    const fs = await nodeModule<Fs>('node:fs/promises');
    return (await this.read(fs)).adapters[key];
  }

  async update(key: string, update: (current: AdapterTuning | undefined) => AdapterTuning): Promise<void> {
    try {
      const fs = await nodeModule<Fs>('node:fs/promises');
      const { dirname } = await nodeModule<typeof import('node:path')>('node:path');
      const file = await this.read(fs);
      file.adapters[key] = update(file.adapters[key]);
      await fs.mkdir(dirname(this.location), { recursive: true });
      const temporary = `${this.location}.${process.pid}.${Date.now()}.tmp`;
      await fs.writeFile(temporary, JSON.stringify(file, null, 1) + '\n');
      await fs.rename(temporary, this.location);
    } catch {
      // A read-only home or a full disk: the measurement is simply not kept.
    }
  }
}

/** IndexedDB (browsers): one object store, a record per adapter key. */
export class IndexedDbTuningStore implements TuningStore {
  readonly location = 'IndexedDB webgpu-mlp/tuning';
  private db: Promise<IDBDatabase> | undefined;

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const request = indexedDB.open('webgpu-mlp', 1);
      request.onupgradeneeded = () => request.result.createObjectStore('tuning');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return this.db;
  }

  private async transaction<T>(mode: IDBTransactionMode, body: (store: IDBObjectStore) => IDBRequest<T> | undefined): Promise<T | undefined> {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction('tuning', mode);
      const request = body(tx.objectStore('tuning'));
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = () => reject(tx.error);
    });
  }

  async load(key: string): Promise<AdapterTuning | undefined> {
    try {
      return (await this.transaction('readonly', (store) => store.get(key))) as AdapterTuning | undefined;
    } catch {
      return undefined;
    }
  }

  async update(key: string, update: (current: AdapterTuning | undefined) => AdapterTuning): Promise<void> {
    try {
      const current = await this.load(key);
      await this.transaction('readwrite', (store) => store.put(update(current), key));
    } catch {
      // Private browsing or a full quota: not kept.
    }
  }
}

/** The cache directory for the tuning file in Node, or undefined for no file ('off'). */
export function tuningCacheDir(env: Record<string, string | undefined>, home: string): string | undefined {
  if (env.WEBGPU_MLP_CACHE_DIR === 'off') return undefined;
  if (env.WEBGPU_MLP_CACHE_DIR) return env.WEBGPU_MLP_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || `${home}/.cache`;
  return `${base}/webgpu-mlp`;
}

let defaultStore: Promise<TuningStore> | undefined;

/** The store this runtime offers (see the top of this file), made once per process. */
export function defaultTuningStore(): Promise<TuningStore> {
  defaultStore ??= (async (): Promise<TuningStore> => {
    if (typeof indexedDB !== 'undefined') return new IndexedDbTuningStore();
    if (typeof process !== 'undefined' && process.versions?.node) {
      const { homedir } = await nodeModule<typeof import('node:os')>('node:os');
      const dir = tuningCacheDir(process.env, homedir());
      if (dir) return new FileTuningStore(`${dir}/tuning.json`);
    }
    return new MemoryTuningStore();
  })();
  return defaultStore;
}

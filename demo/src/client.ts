// The page's side of the worker protocol: typed send, and one listener per message type.
import type { FromWorker, ToWorker } from './protocol.ts';

type Handlers = { [K in FromWorker['type']]?: (message: Extract<FromWorker, { type: K }>) => void };

export class WorkerClient {
  private readonly worker: Worker;

  constructor(private readonly handlers: Handlers) {
    this.worker = new Worker(new URL('./worker/worker.ts', import.meta.url), { type: 'module', name: 'webgpu-mlp trainer' });
    this.worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      (this.handlers[message.type] as ((m: FromWorker) => void) | undefined)?.(message);
    };
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.handlers.error?.({ type: 'error', context: 'init', message: `the training worker failed to start: ${event.message || 'unknown error'}` });
    };
  }

  send(message: ToWorker, transfer: Transferable[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  terminate(): void {
    this.worker.terminate();
  }
}

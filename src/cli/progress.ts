// How training reports itself: a live bar on a terminal, one plain line per epoch when output is
// piped or logged, or JSON lines (`--json`) for programs.
import cliProgress from 'cli-progress';
import type { EpochRecord, ProgressEvent } from '../index.ts';
import type { Reporter } from '../node.ts';

export type { Reporter };

const pct = (x: number | undefined) => (x === undefined ? '   -  ' : `${(100 * x).toFixed(2)}%`);

function epochLine(record: EpochRecord, epochs: number, improved: boolean): string {
  const val = record.valAccuracy === undefined ? '' : `  val loss ${record.valLoss!.toFixed(4)} acc ${pct(record.valAccuracy)}${improved ? ' *' : ''}`;
  return (
    `epoch ${String(record.epoch).padStart(String(epochs).length)}/${epochs}` +
    `  train loss ${record.trainLoss.toFixed(4)} acc ${pct(record.trainAccuracy)}${val}` +
    `  ${record.seconds.toFixed(1)}s ${Math.round(record.samplesPerSecond)} samples/s  lr ${record.lr.toPrecision(3)}`
  );
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

class TerminalReporter implements Reporter {
  private readonly bar = new cliProgress.SingleBar(
    {
      format: 'epoch {epoch} |{bar}| {value}/{total} steps  {sps} samples/s  loss {loss} acc {acc}  ETA {eta}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  private active = false;
  private readonly started = performance.now();
  private epochs = 0;

  progress(event: ProgressEvent): void {
    this.epochs = event.epochs;
    // ETA over the whole run, from the average pace so far.
    const stepsDone = (event.epoch - 1) * event.stepsPerEpoch + event.step;
    const stepsTotal = event.epochs * event.stepsPerEpoch;
    const elapsed = (performance.now() - this.started) / 1000;
    const payload = {
      epoch: `${event.epoch}/${event.epochs}`,
      sps: Math.round(event.samplesPerSecond),
      loss: event.loss.toFixed(4),
      acc: pct(event.accuracy),
      eta: formatEta((elapsed / stepsDone) * (stepsTotal - stepsDone)),
    };
    if (!this.active) {
      this.bar.start(event.stepsPerEpoch, event.step, payload);
      this.active = true;
    } else {
      this.bar.update(event.step, payload);
    }
  }

  epoch(record: EpochRecord, improved: boolean): void {
    this.stopBar();
    console.log(epochLine(record, this.epochs || record.epoch, improved));
  }

  message(text: string): void {
    this.stopBar();
    console.log(text);
  }

  event(type: string): void {
    // Before the first step: a first run on an adapter compiles every pipeline here (seconds).
    if (type === 'preparing') process.stderr.write('preparing: building the plans and compiling the pipelines…\n');
  }

  private stopBar(): void {
    if (this.active) {
      this.bar.stop();
      this.active = false;
    }
  }

  close(): void {
    this.stopBar();
  }
}

class PlainReporter implements Reporter {
  private epochs = 0;

  progress(event: ProgressEvent): void {
    this.epochs = event.epochs;
  }

  epoch(record: EpochRecord, improved: boolean): void {
    console.log(epochLine(record, this.epochs || record.epoch, improved));
  }

  message(text: string): void {
    console.log(text);
  }

  event(): void {}

  close(): void {}
}

class JsonReporter implements Reporter {
  private write(value: Record<string, unknown>): void {
    process.stdout.write(JSON.stringify(value) + '\n');
  }

  progress(event: ProgressEvent): void {
    const { stepLosses: _losses, ...rest } = event;
    this.write({ type: 'progress', ...rest });
  }

  epoch(record: EpochRecord, improved: boolean): void {
    this.write({ type: 'epoch', ...record, improved });
  }

  message(text: string): void {
    this.write({ type: 'message', text });
  }

  event(type: string, data: Record<string, unknown>): void {
    this.write({ type, ...data });
  }

  close(): void {}
}

export function createReporter(options: { json: boolean }): Reporter {
  if (options.json) return new JsonReporter();
  return process.stderr.isTTY ? new TerminalReporter() : new PlainReporter();
}

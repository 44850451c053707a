// The status strip: adapter, phase, overall progress and the live numbers of the run.
import type { AdapterReport, EpochRecord, ProgressEvent } from 'webgpu-mlp';
import { byId, el, formatCount, percent } from './dom.ts';

export class StatusView {
  private readonly phase = byId('phase');
  private readonly progress = byId<HTMLProgressElement>('progress');
  private readonly stats = {
    epoch: byId('stat-epoch'),
    speed: byId('stat-speed'),
    loss: byId('stat-loss'),
    firstLoss: byId('stat-loss-first'),
    validation: byId('stat-val'),
    test: byId('stat-test'),
    time: byId('stat-time'),
  };
  private firstLoss: number | undefined;
  /** Training time of finished stretches (between start/resume and pause/finish), in ms. */
  private trainedMs = 0;
  private stretchStart: number | undefined;
  private timer: number | undefined;

  showAdapter(report: AdapterReport): void {
    const adapter = byId('adapter');
    const name = [report.vendor, report.architecture, report.description || report.device].filter(Boolean).join(' · ') || 'unnamed adapter';
    adapter.replaceChildren(
      el('span', { class: 'adapter-name' }, name),
      report.isFallbackAdapter || report.kind === 'cpu' ? el('span', { class: 'badge warn', title: 'A software rasteriser: correct but slow. Train small models.' }, report.isFallbackAdapter ? 'fallback (software)' : 'software') : el('span', { class: 'badge ok' }, 'GPU'),
    );
    adapter.dataset.state = 'ready';
    adapter.dataset.vendor = report.vendor;
    adapter.dataset.architecture = report.architecture;
    adapter.dataset.fallback = String(report.isFallbackAdapter);
  }

  setPhase(text: string, state: string): void {
    this.phase.textContent = text;
    this.phase.dataset.state = state;
  }

  runStarted(epochs: number): void {
    this.firstLoss = undefined;
    this.trainedMs = 0;
    this.progress.value = 0;
    this.stats.epoch.textContent = `0 / ${epochs}`;
    for (const key of ['speed', 'loss', 'validation', 'test'] as const) this.stats[key].textContent = '–';
    this.stats.firstLoss.textContent = '';
    this.stats.loss.dataset.value = '';
    this.stats.firstLoss.dataset.value = '';
    this.clock(true);
  }

  /** Starts (true) or stops (false) the training clock. */
  clock(running: boolean): void {
    if (running && this.stretchStart === undefined) {
      this.stretchStart = performance.now();
      this.timer = window.setInterval(() => this.showTime(), 250);
    } else if (!running && this.stretchStart !== undefined) {
      this.trainedMs += performance.now() - this.stretchStart;
      this.stretchStart = undefined;
      window.clearInterval(this.timer);
    }
    this.showTime();
  }

  private showTime(): void {
    const ms = this.trainedMs + (this.stretchStart === undefined ? 0 : performance.now() - this.stretchStart);
    this.stats.time.textContent = `${(ms / 1000).toFixed(1)} s`;
  }

  progressEvent(event: ProgressEvent): void {
    const first = event.stepLosses.find(Number.isFinite);
    if (this.firstLoss === undefined && first !== undefined) {
      this.firstLoss = first;
      this.stats.firstLoss.textContent = `first step ${first.toFixed(3)}`;
      this.stats.firstLoss.dataset.value = String(first);
    }
    this.progress.value = (event.epoch - 1 + event.step / event.stepsPerEpoch) / event.epochs;
    this.stats.epoch.textContent = `${event.epoch} / ${event.epochs}`;
    this.stats.speed.textContent = formatCount(Math.round(event.samplesPerSecond));
    this.stats.loss.textContent = event.loss.toFixed(4);
    this.stats.loss.dataset.value = String(event.loss);
  }

  epochEnd(record: EpochRecord): void {
    if (record.valAccuracy !== undefined) {
      this.stats.validation.textContent = percent(record.valAccuracy, 2);
      this.stats.validation.dataset.value = String(record.valAccuracy);
    }
  }

  testAccuracy(accuracy: number, source: string): void {
    this.stats.test.textContent = percent(accuracy, 2);
    this.stats.test.title = source;
    this.stats.test.dataset.value = String(accuracy);
  }
}

/** The per-epoch table under the charts. */
export class HistoryTable {
  private readonly body = byId('history-body');

  reset(): void {
    this.body.replaceChildren();
  }

  add(record: EpochRecord, improved: boolean): void {
    const cell = (text: string) => el('td', {}, text);
    const optional = (v: number | undefined, f: (v: number) => string) => (v === undefined ? '–' : f(v));
    this.body.append(
      el(
        'tr',
        { class: improved ? 'best' : undefined, 'data-train-loss': record.trainLoss, 'data-val-accuracy': record.valAccuracy },
        el('th', { scope: 'row' }, `${record.epoch}${improved ? ' ★' : ''}`),
        cell(record.trainLoss.toFixed(4)),
        cell(percent(record.trainAccuracy, 2)),
        cell(optional(record.valLoss, (v) => v.toFixed(4))),
        cell(optional(record.valAccuracy, (v) => percent(v, 2))),
        cell(record.lr.toPrecision(3)),
        cell(record.seconds.toFixed(2)),
        cell(formatCount(Math.round(record.samplesPerSecond))),
      ),
    );
  }
}

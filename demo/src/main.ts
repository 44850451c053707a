// The demo page: wires the settings form, the controls and the views to the training worker.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { WorkerClient } from './client.ts';
import { MNIST_DIR } from './mnist-files.ts';
import { TrainingCharts } from './ui/charts.ts';
import { CLI_OPTIONS, ConfigForm, DEMO_OPTIONS } from './ui/config-form.ts';
import { renderConfusion } from './ui/confusion.ts';
import { LabelDistribution, renderSampleGrid } from './ui/dataset-view.ts';
import { byId, el, formatCount, percent } from './ui/dom.ts';
import { DrawingPad } from './ui/draw.ts';
import { renderGallery, renderMistakeRows } from './ui/gallery.ts';
import type { TableSummary } from './protocol.ts';
import { Histograms } from './ui/histograms.ts';
import { HistoryTable, StatusView } from './ui/status.ts';
import { renderWeights } from './ui/weights.ts';

type Phase = 'loading' | 'ready' | 'training' | 'paused' | 'finished' | 'failed';

function showNoWebGpu(reason: string): void {
  byId('no-webgpu-reason').textContent = reason;
  byId('no-webgpu').hidden = false;
  byId('app').hidden = true;
  const adapter = byId('adapter');
  adapter.textContent = 'No WebGPU';
  adapter.dataset.state = 'missing';
}

function main(): void {
  if (!('gpu' in navigator) || !navigator.gpu) {
    showNoWebGpu(
      window.isSecureContext
        ? 'This browser does not offer WebGPU (navigator.gpu is missing).'
        : 'This page is not a secure context (it was opened over plain http from another machine), and browsers offer WebGPU only to secure pages.',
    );
    return;
  }

  const buttons = {
    start: byId<HTMLButtonElement>('start'),
    pause: byId<HTMLButtonElement>('pause'),
    resume: byId<HTMLButtonElement>('resume'),
    stop: byId<HTMLButtonElement>('stop'),
    save: byId<HTMLButtonElement>('save'),
    load: byId<HTMLInputElement>('load'),
    loadLabel: byId('load-label'),
  };
  const notice = byId('notice');
  const status = new StatusView();
  const history = new HistoryTable();
  const charts = new TrainingCharts(byId('loss-chart'), byId('accuracy-chart'));
  const histograms = new Histograms(byId('histograms'));
  const labels = new LabelDistribution(byId('label-chart'), byId('label-caption'));
  const form = new ConfigForm(byId<HTMLFormElement>('config'), () => undefined);
  form.setOptions(DEMO_OPTIONS);
  form.applyQuery(location.search);
  byId('preset-demo').addEventListener('click', () => form.setOptions(DEMO_OPTIONS));
  byId('preset-cli').addEventListener('click', () => form.setOptions(CLI_OPTIONS));

  let phase: Phase = 'loading';
  /** The CSV table the page trains on instead of MNIST, once one was dropped. */
  let table: TableSummary | undefined;
  let hasModel = false;
  /** What the phase line says about a model being loaded, until its test results arrive. */
  let loading: string | undefined;
  let client: WorkerClient;

  // Predictions: one request in flight; a newer drawing waits for it and replaces any older one.
  let nextId = 0;
  let inFlight: number | undefined;
  let waiting: Uint8Array | undefined;
  const requestPrediction = (input: Uint8Array) => {
    if (!hasModel) {
      pad.showProbabilities(undefined);
      return;
    }
    if (inFlight !== undefined) {
      waiting = input;
      return;
    }
    inFlight = ++nextId;
    client.send({ type: 'predict', id: inFlight, input }, [input.buffer]);
  };
  const pad = new DrawingPad(byId<HTMLCanvasElement>('pad'), byId<HTMLCanvasElement>('pad-preview'), byId('probabilities'), byId('verdict'), requestPrediction);
  byId('clear').addEventListener('click', () => pad.clear());

  function setPhase(next: Phase, text: string): void {
    phase = next;
    status.setPhase(text, next);
    const busy = next === 'training' || next === 'paused';
    buttons.start.disabled = next !== 'ready' && next !== 'finished';
    buttons.pause.disabled = next !== 'training';
    buttons.resume.disabled = next !== 'paused';
    buttons.stop.disabled = !busy;
    buttons.save.disabled = !hasModel || next === 'loading' || next === 'failed';
    const loadDisabled = next === 'loading' || next === 'failed' || busy;
    buttons.load.disabled = loadDisabled;
    buttons.loadLabel.setAttribute('aria-disabled', String(loadDisabled));
    form.setDisabled(busy);
    for (const id of ['preset-demo', 'preset-cli']) byId<HTMLButtonElement>(id).disabled = busy;
    byId('draw-hint').hidden = hasModel;
  }

  function showNotice(message: string | undefined, action?: { label: string; run: () => void }): void {
    delete notice.dataset.kind;
    notice.hidden = message === undefined;
    notice.replaceChildren(message ?? '');
    if (action) {
      const button = el('button', { type: 'button' }, action.label);
      button.addEventListener('click', action.run);
      notice.append(' ', button);
    }
  }

  const handlers: ConstructorParameters<typeof WorkerClient>[0] = {
    status: ({ text }) => status.setPhase(text, phase),
    'no-webgpu': ({ message }) => showNoWebGpu(message),
    ready: ({ adapter, dataset }) => {
      status.showAdapter(adapter);
      renderSampleGrid(byId<HTMLCanvasElement>('samples'), dataset);
      labels.update(dataset.labelCounts);
      const caption = byId('dataset-caption');
      caption.classList.remove('empty');
      caption.textContent = `MNIST: ${formatCount(dataset.trainFile)} training and ${formatCount(dataset.test)} test images of 28×28 pixels. Validation images are held out from the end of the training file.`;
      setPhase('ready', 'Ready: choose settings and start training.');
    },
    started: ({ run }) => {
      hasModel = true;
      history.reset();
      charts.reset(run.stepsPerEpoch);
      status.runStarted(run.config.epochs);
      labels.update(run.labelCounts, table?.classNames);
      setPhase(
        'training',
        `Training ${run.config.spec.layers.join('-')} (${formatCount(run.parameters)} parameters) on ${formatCount(run.trainCount)} ${table ? 'rows' : 'images'}, ` +
          `validating on ${formatCount(run.validationCount)}; ${run.stepsPerEpoch} steps per epoch.`,
      );
    },
    progress: ({ event }) => {
      status.progressEvent(event);
      charts.addProgress(event);
    },
    epoch: ({ record, improved }) => {
      status.epochEnd(record);
      history.add(record, improved);
      charts.addEpoch(record);
    },
    paused: () => {
      status.clock(false);
      setPhase('paused', 'Paused. Resume to continue exactly where it stopped, or stop to finish.');
    },
    resumed: () => {
      status.clock(true);
      setPhase('training', 'Training…');
    },
    finished: ({ message, reason }) => {
      status.clock(false);
      setPhase('finished', message);
      if (reason === 'diverged') showNotice(message);
    },
    model: ({ model }) => {
      renderWeights(byId<HTMLCanvasElement>('weights'), byId('weights-caption'), model);
      byId('weights-caption').classList.remove('empty');
      histograms.update(model);
      pad.refresh();
    },
    table: ({ table: summary }) => {
      table = summary;
      hasModel = false;
      showTableMode(summary);
      setPhase('ready', `Ready to train on ${summary.name}: the settings suit its size; start training.`);
    },
    analysis: ({ analysis }) => {
      renderConfusion(byId('confusion'), analysis);
      if (table) renderMistakeRows(byId('mistake-rows'), byId('gallery-summary'), analysis, table.features);
      else renderGallery(byId('gallery'), byId('gallery-summary'), analysis);
      byId('gallery-summary').classList.remove('empty');
      status.testAccuracy(analysis.accuracy, analysis.source);
      if (loading) {
        setPhase('finished', `${loading}: test accuracy ${percent(analysis.accuracy, 2)}. Draw a digit to try it.`);
        loading = undefined;
      }
    },
    prediction: ({ id, probabilities }) => {
      if (id === inFlight) {
        inFlight = undefined;
        pad.showProbabilities(probabilities, waiting === undefined);
      }
      if (waiting) {
        const input = waiting;
        waiting = undefined;
        requestPrediction(input);
      }
    },
    saved: ({ fileName, bytes }) => {
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      const link = el('a', { href: url, download: fileName });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    },
    loaded: ({ name, spec, version }) => {
      hasModel = true;
      showNotice(undefined);
      loading = `Loaded ${name}: ${spec.layers.join('-')} ${spec.activation}${version ? ` (saved by webgpu-mlp ${version})` : ''}`;
      setPhase('finished', `${loading}. Testing it…`);
    },
    error: ({ context, message }) => {
      if (context === 'predict') {
        inFlight = undefined;
        return;
      }
      const what = { init: 'Could not start', train: 'Training failed', save: 'Could not save the model', load: 'Could not load the model', table: 'Could not read the table' }[context];
      showNotice(`${what}: ${message}`);
      if (context === 'init') setPhase('failed', `${what}.`);
      else if (context === 'train' && (phase === 'training' || phase === 'paused')) {
        status.clock(false);
        setPhase('finished', `${what}.`);
      } else setPhase(phase, byId('phase').textContent ?? '');
    },
    recovered: ({ text }) => {
      showNotice(text);
      notice.dataset.kind = 'recovered';
    },
    'device-lost': ({ message }) => {
      status.clock(false);
      hasModel = false;
      setPhase('failed', 'The GPU device was lost.');
      showNotice(`${message}. The GPU may have been reset or taken by another program.`, { label: 'Restart', run: restart });
    },
  };

  function connect(): void {
    client = new WorkerClient(handlers);
    inFlight = undefined;
    waiting = undefined;
    const loseAfter = Number(new URLSearchParams(location.search).get('lose-device-after-steps'));
    client.send({ type: 'init', dataUrl: new URL(MNIST_DIR, document.baseURI).href, ...(loseAfter > 0 ? { loseDeviceAfterSteps: loseAfter } : {}) });
  }

  function restart(): void {
    client.terminate();
    showNotice(undefined);
    setPhase('loading', 'Restarting…');
    connect();
  }

  /** The page as a table's: the drawing pad, weight images and sample grid go; the table's numbers come. */
  function showTableMode(summary: TableSummary): void {
    for (const panel of document.querySelectorAll<HTMLElement>('[data-images-only]')) panel.hidden = true;
    byId('gallery').hidden = true;
    byId('mistake-rows').hidden = false;
    byId('mistake-rows').replaceChildren();
    byId('gallery-title').textContent = 'Most confident mistakes';
    byId('gallery-summary').textContent = 'Appears after the first epoch.';
    byId('confusion').replaceChildren(el('p', { class: 'empty' }, 'Appears after the first epoch.'));
    const caption = byId('dataset-caption');
    caption.classList.remove('empty');
    caption.textContent =
      `${summary.name}: ${formatCount(summary.rows)} rows; label column "${summary.label}" with ${summary.classNames.length} classes (${summary.classNames.join(', ')}); ` +
      `${summary.features.length} feature${summary.features.length === 1 ? '' : 's'}` +
      `${summary.ignored.length ? ` (not numbers, left out: ${summary.ignored.join(', ')})` : ''}. ` +
      `${formatCount(summary.train)} rows train and validate, ${summary.test ? `${formatCount(summary.test)} are held out for testing` : 'and, the table being tiny, test too'}. ` +
      'Features are standardized with the training rows\' mean and std.';
    const stats = byId('table-stats');
    stats.hidden = false;
    const show = (v: number) => String(Number(v.toPrecision(4)));
    stats.replaceChildren(
      el(
        'table',
        { class: 'feature-stats' },
        el('thead', {}, el('tr', {}, ...['feature', 'min', 'mean', 'std', 'max'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...summary.stats.map((f) => el('tr', {}, el('td', {}, f.name), el('td', {}, show(f.min)), el('td', {}, show(f.mean)), el('td', {}, show(f.std)), el('td', {}, show(f.max))))),
      ),
    );
    labels.update(summary.labelCounts, summary.classNames);
    const current = form.options();
    form.setOptions({ ...(current ?? DEMO_OPTIONS), ...summary.options } as typeof DEMO_OPTIONS);
    byId('footer-data').textContent = `Data: ${summary.name}, dropped on this page.`;
  }

  /** Reads a CSV file and hands it to the worker, which parses it with the library's reader. */
  async function readTable(file: File): Promise<void> {
    if (phase === 'training' || phase === 'paused' || phase === 'loading') {
      showNotice('Stop the run (or wait for the data to load) before loading a table.');
      return;
    }
    showNotice(undefined);
    setPhase(phase, `Reading ${file.name}…`);
    client.send({ type: 'table', name: file.name, text: await file.text() });
  }
  const tableInput = byId<HTMLInputElement>('table-file');
  tableInput.addEventListener('change', () => {
    const file = tableInput.files?.[0];
    tableInput.value = '';
    if (file) void readTable(file);
  });
  document.addEventListener('dragover', (event) => {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    document.body.classList.add('dropping');
  });
  document.addEventListener('dragleave', (event) => {
    if (event.relatedTarget === null) document.body.classList.remove('dropping');
  });
  document.addEventListener('drop', (event) => {
    const file = event.dataTransfer?.files[0];
    if (!file) return;
    event.preventDefault();
    document.body.classList.remove('dropping');
    if (file.name.endsWith('.safetensors')) {
      void file.arrayBuffer().then((bytes) => client.send({ type: 'load', name: file.name, bytes }, [bytes]));
      return;
    }
    void readTable(file);
  });

  buttons.start.addEventListener('click', () => {
    const options = form.options();
    if (!options) return;
    showNotice(undefined);
    buttons.start.disabled = true;
    client.send({ type: 'start', options });
  });
  buttons.pause.addEventListener('click', () => {
    buttons.pause.disabled = true;
    client.send({ type: 'pause' });
  });
  buttons.resume.addEventListener('click', () => {
    buttons.resume.disabled = true;
    client.send({ type: 'resume' });
  });
  buttons.stop.addEventListener('click', () => {
    buttons.stop.disabled = true;
    buttons.pause.disabled = true;
    client.send({ type: 'stop' });
  });
  buttons.save.addEventListener('click', () => client.send({ type: 'save' }));
  buttons.load.addEventListener('change', async () => {
    const file = buttons.load.files?.[0];
    buttons.load.value = '';
    if (!file) return;
    const bytes = await file.arrayBuffer();
    client.send({ type: 'load', name: file.name, bytes }, [bytes]);
  });

  setPhase('loading', 'Starting…');
  connect();
}

main();

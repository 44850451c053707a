// The training form: the CLI's `train` options, built from the library's option table (OPTIONS:
// key, help, default, choices) and checked by its one validation (resolveConfig), prefilled with the
// demo's preset and overridable from the URL (?hidden=16&trainSubset=1000&epochs=2).
import { OPTIONS, resolveConfig, type OptionSpec, type TrainOptions } from 'webgpu-mlp';
import { el } from './dom.ts';

const MNIST_INPUT = 784;
const MNIST_CLASSES = 10;

/** Training options as the form gives them: typed values, every key optional (defaults fill the rest). */
export type FormOptions = Partial<TrainOptions>;

/**
 * The demo's preset: one hidden layer of 128, no dropout, Adam at 2e-3 with the CLI's cosine decay,
 * 8 epochs of batch 128 (3,128 steps). Measured with the same kernels in Node on lavapipe: 97.68% and
 * 97.70% test accuracy (seeds 1 and 2), where 5 epochs at 1e-3 reach only 96.4%. Fewer, larger steps
 * suit a GPU, whose time per step is mostly fixed overhead at this size: a few thousand steps take
 * seconds on a laptop GPU. The CLI's defaults (OPTIONS' defaults: two hidden layers, dropout, 20
 * epochs: 98%+) are one click away.
 */
export const DEMO_OPTIONS: FormOptions = {
  layers: [MNIST_INPUT, 128, MNIST_CLASSES],
  activation: 'relu',
  loss: 'ce',
  dropout: 0,
  lr: 2e-3,
  epochs: 8,
};

/** The CLI's defaults: every option of the table at its default. */
export const CLI_OPTIONS: FormOptions = {};

const SPECS = new Map<string, OptionSpec>((OPTIONS as readonly OptionSpec[]).map((spec) => [spec.key, spec]));

function specOf(key: string): OptionSpec {
  const spec = SPECS.get(key);
  if (!spec) throw new Error(`the library has no training option "${key}"`);
  return spec;
}

type Values = Record<string, string | boolean>;

interface Field {
  /** The input's name: an option key, or 'hidden' and 'initScale' (parts of layers and init). */
  readonly name: string;
  readonly label: string;
  readonly kind: 'number' | 'text' | 'select' | 'checkbox';
  readonly options?: readonly string[];
  readonly step?: string;
  readonly help?: string;
  readonly placeholder?: string;
  readonly visible?: (values: Values) => boolean;
}

interface Group {
  readonly legend: string;
  readonly fields: readonly Field[];
  readonly advanced?: boolean;
}

/** A field for option `key`: its help, its choices (a select) or its kind from the default's type. */
function option(key: keyof TrainOptions, label: string, extra: Partial<Field> = {}): Field {
  const spec = specOf(key);
  const kind = spec.choices ? 'select' : typeof spec.default === 'boolean' ? 'checkbox' : 'number';
  return { name: key, label, kind, help: spec.help, ...(spec.choices ? { options: spec.choices } : {}), ...extra };
}

const usesMomentum = (v: Values) => v.optimizer === 'momentum' || v.optimizer === 'nesterov';
const usesAdam = (v: Values) => v.optimizer === 'adam' || v.optimizer === 'adamw';
const INIT_KINDS = ['he', 'xavier', 'uniform', 'normal'] as const;
const scaledInit = (v: Values) => v.init === 'uniform' || v.init === 'normal';

const GROUPS: readonly Group[] = [
  {
    legend: 'Model',
    fields: [
      { name: 'hidden', label: 'Hidden layers', kind: 'text', help: 'widths, comma-separated (784 in, 10 out); empty = linear' },
      option('activation', 'Activation', { help: undefined }),
      option('loss', 'Loss'),
      option('dropout', 'Dropout', { step: '0.05' }),
      { name: 'init', label: 'Init', kind: 'select', options: INIT_KINDS, help: specOf('init').help },
      { name: 'initScale', label: 'Init bound / std', kind: 'number', step: 'any', visible: scaledInit },
    ],
  },
  {
    legend: 'Optimizer',
    fields: [
      option('optimizer', 'Optimizer', { help: undefined }),
      option('lr', 'Learning rate', { step: 'any' }),
      option('momentum', 'Momentum', { step: '0.01', visible: usesMomentum }),
      option('weightDecay', 'Weight decay', { step: 'any' }),
      option('schedule', 'LR schedule'),
      option('minLrFactor', 'Final LR factor', { step: 'any', visible: (v) => v.schedule === 'cosine' }),
      option('stepEvery', 'Decay every (epochs)', { step: '1', visible: (v) => v.schedule === 'step' }),
      option('stepGamma', 'Decay factor', { step: 'any', visible: (v) => v.schedule === 'step' }),
      option('warmup', 'Warm-up (epochs)', { step: 'any' }),
    ],
  },
  {
    legend: 'Training',
    fields: [
      option('batchSize', 'Batch size', { step: '1', help: undefined }),
      option('epochs', 'Epochs', { step: '1', help: undefined }),
      option('patience', 'Early-stop patience', { step: '1' }),
      option('seed', 'Seed', { step: '1' }),
    ],
  },
  {
    legend: 'Data',
    fields: [
      option('trainSubset', 'Training images', { step: '1', help: '0 = all (60,000 minus validation)' }),
      option('valSplit', 'Validation images', { step: 'any', help: 'held out from the training file: a count, or a fraction in (0, 1)' }),
      option('valShuffle', 'Random validation split'),
    ],
  },
  {
    legend: 'Advanced',
    advanced: true,
    fields: [
      option('beta1', 'Adam β1', { step: 'any', visible: usesAdam }),
      option('beta2', 'Adam β2', { step: 'any', visible: usesAdam }),
      option('eps', 'Epsilon', { step: 'any', placeholder: 'optimizer default', visible: (v) => usesAdam(v) || v.optimizer === 'adagrad' }),
      option('evalBatchSize', 'Eval batch size', { step: '1' }),
      option('stepsPerSubmit', 'Steps per submit', { step: '1' }),
    ],
  },
];

const FIELDS = GROUPS.flatMap((group) => group.fields);
/** Fields that are options as they are (all but hidden and initScale, which make layers and init). */
const OPTION_FIELDS = FIELDS.filter((field) => SPECS.has(field.name) && field.name !== 'init');

/** Older and shorter names the page's URL may use for a field. */
const QUERY_ALIASES: Readonly<Record<string, string>> = { batch: 'batchSize', train: 'trainSubset', validation: 'valSplit', evalBatch: 'evalBatchSize' };

/** Every option at its default (OPTIONS' defaults), overridden by `options`. */
function withDefaults(options: FormOptions): FormOptions {
  const out: Record<string, unknown> = {};
  for (const spec of OPTIONS as readonly OptionSpec[]) if (spec.default !== undefined) out[spec.key] = spec.default;
  return { ...out, ...options } as FormOptions;
}

/** The form's values for `options` over the defaults. */
export function optionsToValues(options: FormOptions): Values {
  const o = withDefaults(options) as Record<string, unknown> & FormOptions;
  const values: Values = {};
  for (const field of OPTION_FIELDS) {
    const value = o[field.name];
    values[field.name] = typeof value === 'boolean' ? value : value === undefined ? '' : String(value);
  }
  const layers = o.layers ?? [];
  values.hidden = layers.slice(1, -1).join(',');
  // The scale field keeps a usable value while the init is he or xavier.
  Object.assign(values, { initScale: '0.05' }, initValues(o.init));
  return values;
}

/** 'he', 'uniform:0.1' (or the scheme object) as the Init select and its scale. */
function initValues(init: FormOptions['init']): Values {
  const text = typeof init === 'string' ? init : init === undefined ? 'he' : init.kind === 'uniform' ? `uniform:${init.a}` : init.kind === 'normal' ? `normal:${init.std}` : init.kind;
  const [kind, scale] = text.split(':');
  return { init: kind, ...(scale !== undefined ? { initScale: scale } : {}) };
}

/** The raw options of the form's values: text as typed (the option table parses it), booleans. */
function rawOptions(values: Values): Record<string, unknown> {
  const hidden = String(values.hidden).trim();
  const widths = hidden === '' ? [] : hidden.split(',').map((part) => part.trim());
  if (widths.some((part) => !/^\d+$/.test(part) || Number(part) < 1)) {
    throw new Error(`Hidden layers must be positive widths separated by commas, e.g. 256,128; found "${hidden}"`);
  }
  const raw: Record<string, unknown> = { layers: [MNIST_INPUT, ...widths.map(Number), MNIST_CLASSES] };
  for (const field of OPTION_FIELDS) {
    const value = values[field.name];
    // An empty optional option (eps) takes its derived default; an empty required one is an error.
    if (value === '' && specOf(field.name).default === undefined) continue;
    raw[field.name] = value;
  }
  raw.init = scaledInit(values) ? `${values.init}:${String(values.initScale).trim()}` : values.init;
  return raw;
}

/**
 * The form's values as typed training options, checked by resolveConfig (the CLI's validation): an
 * MlpError with code 'CONFIG' names the option that is wrong.
 */
export function valuesToOptions(values: Values): FormOptions {
  const raw = rawOptions(values);
  resolveConfig(raw);
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) options[key] = specOf(key).parse(value);
  return options as FormOptions;
}

/** The form, built from GROUPS into `container`. */
export class ConfigForm {
  private readonly inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  private readonly rows = new Map<string, HTMLElement>();
  private readonly error: HTMLElement;

  constructor(
    private readonly container: HTMLFormElement,
    onChange: () => void,
  ) {
    for (const group of GROUPS) {
      const fieldset = el('fieldset', {}, el('legend', {}, group.legend));
      for (const field of group.fields) fieldset.append(this.row(field));
      container.append(group.advanced ? el('details', {}, el('summary', {}, 'Advanced settings'), fieldset) : fieldset);
    }
    this.error = el('p', { class: 'form-error', role: 'alert', hidden: true });
    container.append(this.error);
    container.addEventListener('input', () => {
      this.updateVisibility();
      this.showError(undefined);
      onChange();
    });
  }

  private row(field: Field): HTMLElement {
    const id = `cfg-${field.name}`;
    let input: HTMLInputElement | HTMLSelectElement;
    if (field.kind === 'select') {
      input = el('select', { id, name: field.name }, ...(field.options ?? []).map((option) => el('option', { value: option }, option)));
    } else {
      const type = field.kind === 'checkbox' ? 'checkbox' : field.kind === 'number' ? 'number' : 'text';
      input = el('input', { id, name: field.name, type, step: field.step, placeholder: field.placeholder, inputmode: field.kind === 'text' ? 'numeric' : undefined });
    }
    const helpId = field.help ? `${id}-help` : undefined;
    if (helpId) input.setAttribute('aria-describedby', helpId);
    this.inputs.set(field.name, input);
    const row = el(
      'div',
      { class: `field field-${field.kind}` },
      el('label', { for: id }, field.label),
      input,
      field.help ? el('small', { id: helpId }, field.help) : null,
    );
    this.rows.set(field.name, row);
    return row;
  }

  values(): Values {
    const values: Values = {};
    for (const [name, input] of this.inputs) values[name] = input instanceof HTMLInputElement && input.type === 'checkbox' ? input.checked : input.value;
    return values;
  }

  setValues(values: Values): void {
    for (const [name, value] of Object.entries(values)) {
      const input = this.inputs.get(name);
      if (!input) continue;
      if (input instanceof HTMLInputElement && input.type === 'checkbox') input.checked = value === true || value === 'true' || value === '1' || value === '';
      else input.value = String(value);
    }
    this.updateVisibility();
  }

  /** Sets the form to `options` over the defaults. */
  setOptions(options: FormOptions): void {
    this.setValues(optionsToValues(options));
  }

  /**
   * Applies `?name=value` overrides from the page's URL: field names (option keys, `hidden`,
   * `initScale`), the CLI's kebab-case names (`batch-size`), `layers` and `init` as the CLI writes
   * them, and the older short names (batch, train, validation, evalBatch). Unknown names are ignored.
   */
  applyQuery(search: string): void {
    const values: Values = {};
    for (const [given, value] of new URLSearchParams(search)) {
      const name = QUERY_ALIASES[given] ?? (OPTIONS as readonly OptionSpec[]).find((spec) => spec.flag === `--${given}`)?.key ?? given;
      if (name === 'layers') values.hidden = value.split(',').slice(1, -1).join(',');
      else if (name === 'init') Object.assign(values, initValues(value));
      else if (this.inputs.has(name)) values[name] = value;
    }
    this.setValues(values);
  }

  /** The checked training options, or undefined with the reason shown next to the Start button. */
  options(): FormOptions | undefined {
    try {
      return valuesToOptions(this.values());
    } catch (error) {
      this.showError(error instanceof Error ? error.message : String(error));
      return undefined;
    }
  }

  setDisabled(disabled: boolean): void {
    for (const fieldset of this.container.querySelectorAll('fieldset')) fieldset.disabled = disabled;
  }

  private showError(message: string | undefined): void {
    this.error.hidden = message === undefined;
    this.error.textContent = message ?? '';
  }

  private updateVisibility(): void {
    const values = this.values();
    for (const field of FIELDS) this.rows.get(field.name)!.hidden = field.visible ? !field.visible(values) : false;
  }
}

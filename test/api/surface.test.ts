// The exported surface, listed: it grows or changes only on purpose (a change here is a change of
// the public API, and of README's API reference). Runtime names are read from the modules; type-only
// names from the entry files' `export type` lists.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = join(ROOT, 'src');

function typeExports(file: string): string[] {
  const text = readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8');
  const names: string[] = [];
  for (const match of text.matchAll(/export\s*\{([^}]*)\}\s*from/g)) {
    for (const part of match[1].split(',')) if (part.trim().startsWith('type ')) names.push(part.trim().slice(5).trim());
  }
  for (const match of text.matchAll(/export\s+type\s*\{([^}]*)\}\s*from/g)) names.push(...match[1].split(',').map((s) => s.trim()).filter(Boolean));
  return names.sort();
}

describe('public surface', () => {
  it("'webgpu-mlp' exports exactly these names", async () => {
    const entry = await import('../../src/index.ts');
    expect(Object.keys(entry).sort()).toEqual([
      'Dataset',
      'ERROR_CODES',
      'Gpu',
      'MlpError',
      'Model',
      'OPTIONS',
      'Random',
      'VERSION',
      'checkGpu',
      'createDataset',
      'createModel',
      'describeConfig',
      'describeLrSchedule',
      'describeModel',
      'describeOptimizer',
      'exportOnnx',
      'exportTfjs',
      'grayFromRgba',
      'loadModel',
      'openGpu',
      'optionsOf',
      'parseCsvText',
      'preprocessDigit',
      'resolveConfig',
      'tableOptions',
      'tuneKernels',
    ]);

    expect(typeExports('index.ts')).toEqual([
      'Activation',
      'AdapterReport',
      'Backend',
      'CheckOptions',
      'CheckReport',
      'CheckResult',
      'CheckpointInfo',
      'CsvOptions',
      'DatasetInit',
      'Divergence',
      'EngineSetup',
      'EpochInfo',
      'EpochRecord',
      'ErrorCode',
      'Evaluation',
      'ExportOptions',
      'Features',
      'FitControl',
      'FitOptions',
      'FitResult',
      'FitStatus',
      'GrayImage',
      'InitScheme',
      'InputTransform',
      'LayerWeights',
      'Loss',
      'ModelSpec',
      'OpenGpuOptions',
      'OptimizerConfig',
      'OptimizerKind',
      'OptionKey',
      'OptionSpec',
      'Options',
      'Predictions',
      'ProgressEvent',
      'RecoverOptions',
      'Recovery',
      'Schedule',
      'Standardization',
      'TableShape',
      'TfjsExport',
      'TfjsModelJson',
      'TfjsWeightSpec',
      'TrainConfig',
      'TrainOptions',
      'TuneReport',
      'TunedKernel',
    ]);

  });

  it("'webgpu-mlp/node' exports exactly these names", async () => {
    const entry = await import('../../src/node.ts');
    // Files and datasets, then the run directories the CLI writes and its applications read.
    expect(Object.keys(entry).sort()).toEqual([
      'RUN_FILES',
      'RunDirectory',
      'acquireLock',
      'baselineDirName',
      'bestValidation',
      'csvSource',
      'defaultRunName',
      'describeSource',
      'exportCheckpointFile',
      'findBaseline',
      'isCsvSource',
      'isLogisticRegression',
      'loadData',
      'loadIdxDataset',
      'loadMnist',
      'loadRunFiles',
      'lockNote',
      'openResume',
      'prepareData',
      'readCsvFile',
      'readImageFile',
      'readModel',
      'saveModel',
      'splitData',
      'splitDifferences',
      'trainRun',
      'writeFileAtomic',
      'writeReportSafely',
    ]);
    expect(typeExports('node.ts')).toEqual([
      'BaselineLookup',
      'ConfigJson',
      'CsvSource',
      'DataSource',
      'IdxDataset',
      'IdxSource',
      'LoadedData',
      'LockHolder',
      'ReportWriter',
      'Reporter',
      'ResumePoint',
      'RunConfig',
      'RunData',
      'RunFiles',
      'RunLock',
      'RunSettings',
      'RunStatus',
      'RunSummary',
      'RunTarget',
      'StepLoss',
      'SummaryJson',
      'TrainingRunOptions',
      'TrainingRunResult',
      'WrittenFile',
    ]);
  });

  it('importing the entries runs nothing and touches no globals (no side effects)', () => {
    // A fresh process: globals before and after importing both entries, and no GPU opened (Dawn
    // installs its globals, GPUBufferUsage among them, only when openGpu() runs).
    const script = `
      const before = new Set(Object.getOwnPropertyNames(globalThis));
      await import('./src/index.ts');
      await import('./src/node.ts');
      const added = Object.getOwnPropertyNames(globalThis).filter((name) => !before.has(name));
      console.log(JSON.stringify(added));`;
    const out = execFileSync(process.execPath, ['--import', './bin/register.mjs', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual([]);
  });

  it('documents every export with a TSDoc comment (the API reference is generated from them)', () => {
    const undocumented: string[] = [];
    for (const entry of ['index.ts', 'node.ts']) {
      const text = readFileSync(join(SRC, entry), 'utf8');
      for (const match of text.matchAll(/export\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
        const source = readFileSync(join(SRC, match[2]), 'utf8');
        for (const part of match[1].split(',').map((p) => p.trim()).filter(Boolean)) {
          const name = part.replace(/^type\s+/, '').split(/\s+as\s+/)[0];
          const declaration = new RegExp(`\\n(export (?:declare )?(?:abstract )?(?:async )?(?:function|class|interface|type|const|let) ${name}\\b)`).exec(source);
          if (!declaration) continue; // re-exported from further down: its own file is checked where it is declared
          if (!source.slice(0, declaration.index).trimEnd().endsWith('*/')) undocumented.push(`${name} (${match[2]})`);
        }
      }
      // Declared in the entry itself.
      for (const match of text.matchAll(/\n(export (?:async )?function (\w+))/g)) {
        if (!text.slice(0, match.index).trimEnd().endsWith('*/')) undocumented.push(`${match[2]} (${entry})`);
      }
    }
    expect(undocumented).toEqual([]);
  });
});

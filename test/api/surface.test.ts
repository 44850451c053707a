// The exported surface, listed: it grows or changes only on purpose (a change here is a change of
// the public API, and of README's API reference). Runtime names are read from the modules; type-only
// names from the entry files' `export type` lists.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

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
      'preprocessDigit',
      'resolveConfig',
    ]);

    expect(typeExports('index.ts')).toEqual([
      'Activation',
      'AdapterReport',
      'Backend',
      'CheckpointInfo',
      'DatasetInit',
      'Divergence',
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
      'Schedule',
      'Standardization',
      'TfjsExport',
      'TrainConfig',
      'TrainOptions',
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
      'defaultRunName',
      'exportCheckpointFile',
      'findBaseline',
      'isLogisticRegression',
      'loadIdxDataset',
      'loadMnist',
      'loadRunFiles',
      'lockNote',
      'openResume',
      'prepareData',
      'readImageFile',
      'readModel',
      'saveModel',
      'splitDifferences',
      'trainRun',
      'writeFileAtomic',
      'writeReportSafely',
    ]);
    expect(typeExports('node.ts')).toEqual([
      'BaselineLookup',
      'ConfigJson',
      'DataSource',
      'IdxDataset',
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
});

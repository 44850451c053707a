// Builds the engine a config asks for: the GPU plans on a WebGPU device, or the CPU reference.
import { openGpu, type GpuContext } from '../gpu/device.ts';
import { CpuEngine } from './cpu-engine.ts';
import type { TrainConfig } from './config.ts';
import type { TrainingEngine } from './engine.ts';
import { createGpuEngine, GpuSession, type SessionData } from './gpu-engine.ts';

export interface EngineHandle {
  readonly engine: TrainingEngine;
  /** The GPU, for the GPU engine (its adapter report, its device-loss promise). */
  readonly gpu?: GpuContext;
  close(): void;
}

/**
 * `initialParams` is called once the engine is built: a model the adapter refuses is refused before
 * its (possibly hundreds of megabytes of) initial weights are drawn.
 */
export async function createEngine(
  config: Pick<TrainConfig, 'device' | 'spec' | 'optimizer' | 'batchSize' | 'stepsPerSubmit' | 'seed' | 'evalBatchSize'>,
  data: SessionData,
  initialParams: () => Float32Array,
): Promise<EngineHandle> {
  if (config.device === 'cpu') {
    const engine = new CpuEngine(config.spec, config.optimizer, initialParams(), data, config);
    return { engine, close: () => engine.close() };
  }
  const gpu = await openGpu();
  try {
    const session = new GpuSession(gpu, data);
    const engine = await createGpuEngine(session, config.spec, config.optimizer, config);
    engine.writeParams(initialParams());
    return {
      engine,
      gpu,
      close: () => {
        engine.close();
        session.destroy();
        gpu.close();
      },
    };
  } catch (error) {
    gpu.close();
    throw error;
  }
}

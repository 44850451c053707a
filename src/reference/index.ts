// The CPU reference: every op of the training step, and the whole MLP, in float64 loops.
export { activate, activationBackward, activationForward, activationGradFromOutput } from './activation.ts';
export { dropoutBackward, dropoutBits, dropoutForward, dropoutKeepMask, keepThreshold, pcg } from './dropout.ts';
export { gatherBatch, type GatheredBatch } from './gather.ts';
export { argmaxRow, lossFor, meanSquaredError, softmaxCrossEntropy, type LossResult } from './loss.ts';
export { biasGrad, matmulForward, matmulInputGrad, matmulWeightGrad } from './matmul.ts';
export { ReferenceMlp, type DropoutDraw, type ForwardActivations, type ReferenceStep } from './mlp.ts';
export { initialOptimizerState, optimizerUpdate } from './optimizer.ts';

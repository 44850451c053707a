// Exits 0 and prints the adapter when Dawn finds one; exits 1 otherwise. Used by the setup scripts.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.log('no WebGPU adapter');
  process.exit(1);
}
const { vendor, architecture, description } = adapter.info;
console.log(`WebGPU adapter: ${[vendor, architecture, description].filter(Boolean).join(' / ')}`);
process.exit(0);

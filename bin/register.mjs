// Preload for running the TypeScript sources directly in Node: `node --import ./bin/register.mjs file.ts`.
// tsx compiles TypeScript; raw-hook.mjs handles `?raw` imports of shaders (registered last, so it runs first).
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./raw-hook.mjs', import.meta.url);

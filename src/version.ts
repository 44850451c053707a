// The package version, written into checkpoints and run summaries. A named import: bundlers then
// inline the version alone, not the whole package.json.
import { version } from '../package.json';

/** The package version, as checkpoints and run summaries record it. */
export const VERSION: string = version;

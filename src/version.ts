// The package version, written into checkpoints and run summaries. A named import: bundlers then
// inline the version alone, not the whole package.json.
import { version } from '../package.json';

export const VERSION: string = version;

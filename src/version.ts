// The package version, written into checkpoints and run summaries.
import pkg from '../package.json';

export const VERSION: string = pkg.version;

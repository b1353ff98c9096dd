// Entry point of the `kite` command (bin/kite runs the compiled form of this file).
import { run } from './program.js';

// A reader that goes away (`kite list | head -1`) must not crash a command half-way.
process.stdout.on('error', () => {});

const code = await run(process.argv);
// Errors exit at once (a half-started server must not linger); success lets long-running
// commands such as `kite server` keep the process alive.
if (code !== 0) process.exit(code);

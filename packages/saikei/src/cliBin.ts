#!/usr/bin/env node
/**
 * The `saikei` executable (`npx saikei ...`): runs {@link runCli} with the process's arguments.
 *
 * @module
 */

import { runCli } from "./cli.js";

process.exitCode = await runCli(process.argv.slice(2), process);

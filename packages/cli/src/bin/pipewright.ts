#!/usr/bin/env node
import { processIo } from '../cli/io.js';
import { runCli } from '../cli/program.js';
import { loadOutputSettings, processEnv } from '../config.js';

// `demo` and `dev` set process.exitCode themselves; every other command reports through runCli's code.
const code = await runCli(process.argv.slice(2), processIo(loadOutputSettings()), processEnv());
if (code !== 0) process.exitCode = code;

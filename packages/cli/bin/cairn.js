#!/usr/bin/env node
// Committed entry so `npm ci` can link the `cairn` binary before `npm run build` creates dist/.
import { run } from '../dist/main.js';

await run(process.argv);

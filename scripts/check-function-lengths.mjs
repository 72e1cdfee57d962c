#!/usr/bin/env node
// Function lengths in daemon/src, measured on the syntax tree: every function (declaration,
// expression, arrow, method, constructor, accessor) from its first line to its last, so a nested
// closure counts in its parent as well as on its own. Prints each function over MAX_LINES and
// startDaemon's length (the composition root has its own bound, MAX_START_DAEMON); exits 1 on either.
//   node scripts/check-function-lengths.mjs [dir …]   (default: daemon/src; the daemon's npm test also passes packages/replication/src, where its replica logic lives)
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from '@babel/parser'

const MAX_LINES = 80
const MAX_START_DAEMON = 120
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dirs = process.argv.length > 2 ? process.argv.slice(2) : [join(root, 'daemon/src')]

const FUNCTION_TYPES = new Set([
  'FunctionDeclaration',
  'FunctionExpression',
  'ArrowFunctionExpression',
  'ClassMethod',
  'ClassPrivateMethod',
  'ObjectMethod',
])

function* tsFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) yield* tsFiles(p)
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p
  }
}

function keyName(key) {
  if (key === undefined || key === null) return undefined
  if (key.type === 'Identifier') return key.name
  if (key.type === 'PrivateName') return `#${key.id.name}`
  if (key.type === 'StringLiteral') return key.value
  return undefined
}

/** The name a reader would look for: the declaration's, the method's, or what it is assigned to. */
function nameOf(node, parent) {
  if (node.id?.name) return node.id.name
  if (node.key) return keyName(node.key) === 'constructor' ? 'constructor' : keyName(node.key)
  if (parent?.type === 'VariableDeclarator') return keyName(parent.id)
  if (parent?.type === 'ObjectProperty' || parent?.type === 'ClassProperty') return keyName(parent.key)
  if (parent?.type === 'AssignmentExpression') return keyName(parent.left.property ?? parent.left)
  return '(anonymous)'
}

/** Visits every node with its parent (the AST is a plain tree of objects with a `type`). */
function walk(node, parent, visit) {
  visit(node, parent)
  for (const [k, v] of Object.entries(node)) {
    if (k === 'loc' || k === 'leadingComments' || k === 'trailingComments' || k === 'innerComments') continue
    if (Array.isArray(v)) {
      for (const c of v) if (c && typeof c.type === 'string') walk(c, node, visit)
    } else if (v && typeof v.type === 'string') walk(v, node, visit)
  }
}

const over = []
let startDaemon
let longest = { lines: 0 }
for (const dir of dirs) {
  for (const file of tsFiles(dir)) {
    const ast = parse(readFileSync(file, 'utf8'), { sourceType: 'module', plugins: ['typescript'] })
    walk(ast.program, undefined, (node, parent) => {
      if (!FUNCTION_TYPES.has(node.type) || !node.body) return
      const lines = node.loc.end.line - node.loc.start.line + 1
      const f = { file: relative(root, file), line: node.loc.start.line, name: nameOf(node, parent), lines }
      if (f.name === 'startDaemon') startDaemon = f
      if (f.name !== 'startDaemon' && lines > longest.lines) longest = f
      if (lines > (f.name === 'startDaemon' ? MAX_START_DAEMON : MAX_LINES)) over.push(f)
    })
  }
}

for (const f of over) {
  const max = f.name === 'startDaemon' ? MAX_START_DAEMON : MAX_LINES
  console.log(`${f.file}:${f.line} ${f.name}: ${f.lines} lines (at most ${max})`)
}
if (startDaemon) console.log(`startDaemon: ${startDaemon.lines} lines (at most ${MAX_START_DAEMON})`)
if (longest.lines > 0)
  console.log(
    `longest other function: ${longest.file}:${longest.line} ${longest.name}, ${longest.lines} lines`,
  )
if (over.length > 0) process.exit(1)

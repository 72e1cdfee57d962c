/**
 * @packageDocumentation
 * swarmstore's storage: content addressing (CIDv1 sha2-256; raw chunks, dag-cbor manifests),
 * streaming chunking and reassembly with byte ranges, and a crash-safe persistent chunk store with
 * key-ordered iteration, per-prefix summaries, verify-on-read, quota, pins, GC and CAR backup; and a
 * durable append-only record log (a write-ahead file).
 */
export { type BuildFileOptions, type BuiltFile, buildFile, type PutBlock } from './build-file.js'
export type { CarStore, ExportCarOptions, ImportCarResult } from './car.js'
export {
  ChunkStore,
  type ChunkStoreInit,
  type ChunkStoreStats,
  type GcResult,
  type KeyEntry,
  type PutOptions,
  type VerifyReport,
} from './chunk-store.js'
export { type ChunkOptions, chunkFile } from './chunker.js'
export { assertChunkCid, bytesMatchCid, DAG_CBOR_CODE, RAW_CODE, rawCid, toChunkCid } from './cid.js'
export type { Compression } from './compression.js'
export * from './errors.js'
export { alignedBuffer, alignUp, DIRECT_ALIGN, writeAligned } from './fs/direct-io.js'
export { NodeFs, type NodeFsOptions } from './fs/node-fs.js'
export type { StoreFs } from './fs/store-fs.js'
export { FORMAT_NAME, FORMAT_VERSION } from './layout.js'
export {
  DEFAULT_CHUNK_SIZE,
  decodeManifest,
  encodeManifest,
  fanoutFor,
  MANIFEST_VERSION,
  MAX_CHUNK_SIZE,
  type Manifest,
  type ManifestLink,
  MIN_CHUNK_SIZE,
  manifestChildren,
} from './manifest.js'
export { type PrefixSummary, SUMMARY_BITS } from './prefix-summaries.js'
export { fileBlocks, type GetBlock, getManifest, type ReadFileOptions, readFile } from './read-file.js'
export { DEFAULT_MAX_RECORD_BYTES, RECORD_LOG_MAGIC, RecordLog, type RecordLogInit } from './record-log.js'

/*
 * Chunks of a step's files: cut and journaled (`chunk.planned`), and read back as each job's
 * upload. Source chunks (round 0) are sent through the step's column mapping; the files of retry
 * rounds already hold the uploaded columns and are sent as they are.
 */
import type { Readable } from 'node:stream';
import { Messages } from '@salesforce/core';
import type { ColumnDelimiter, LineEnding, ResolvedStep } from '../manifest/types.js';
import { fingerprintOf, type ChunkState, type RunState, type StepState } from '../journal/state.js';
import { chunkPlanned } from '../journal/eventBuilders.js';
import { readCsvHeader, type CsvHeader } from '../csv/header.js';
import { planChunks, type SourceStat } from '../csv/chunks.js';
import { openChunkStream } from '../csv/upload.js';
import type { RecordEvent } from './chunkLifecycle.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'engine');

/** the part of a chunk its upload is read from */
export type ChunkSource = Pick<ChunkState, 'file' | 'byteStart' | 'byteEnd' | 'records' | 'attempt'>;

export class ChunkPlanner {
  private readonly headers = new Map<string, Promise<CsvHeader>>();
  /** each file's size and mtime when planning checked its bytes: an upload first checks they still hold */
  private readonly plannedStats = new Map<string, SourceStat>();

  public constructor(
    private readonly state: RunState,
    private readonly record: RecordEvent,
  ) {}

  /** the header of a file, read once per run */
  public header(file: string, delimiter: ColumnDelimiter): Promise<CsvHeader> {
    let header = this.headers.get(file);
    if (!header) {
      header = readCsvHeader(file, delimiter);
      this.headers.set(file, header);
    }
    return header;
  }

  /** retry files already hold the uploaded (mapped) columns */
  // eslint-disable-next-line class-methods-use-this -- one place says which chunks are mapped
  public mappingOf(step: ResolvedStep, chunk: { attempt: number }): ResolvedStep['mapping'] {
    return chunk.attempt === 0 ? step.mapping : {};
  }

  /**
   * The line ending a chunk's job declares: the step's, always. Every upload is given it whatever the
   * file's own line endings (openChunkStream), and retry files are read the same way.
   */
  // eslint-disable-next-line class-methods-use-this, @typescript-eslint/no-unused-vars -- asked per chunk, same for all
  public lineEndingOf(step: ResolvedStep, _chunk?: ChunkSource): Promise<LineEnding> {
    return Promise.resolve(step.lineEnding);
  }

  /** a fresh stream of the chunk exactly as its job is sent it: the (mapped) header, then its records */
  public async uploadBody(step: ResolvedStep, chunk: ChunkSource): Promise<() => Readable> {
    const header = await this.header(chunk.file, step.columnDelimiter);
    const options = {
      header,
      delimiter: step.columnDelimiter,
      lineEnding: await this.lineEndingOf(step, chunk),
      mapping: this.mappingOf(step, chunk),
      expect: this.plannedStats.get(chunk.file),
    };
    return () => openChunkStream(chunk, options);
  }

  /**
   * Journals the chunks of one file. Chunking is deterministic, so after a crash in the middle of
   * planning the same cut is made again: chunks already journaled must match it exactly, and only
   * the missing ones are added. A stopped run (`signal`) leaves the rest of the cut to its resume.
   */
  public async ensurePlanned(step: ResolvedStep, file: string, attempt: number, signal?: AbortSignal): Promise<void> {
    const header = await this.header(file, step.columnDelimiter);
    const known = new Map(
      this.stepState(step.id)
        .chunks.filter((chunk) => chunk.file === file && chunk.attempt === attempt)
        .map((chunk) => [chunk.byteStart, chunk]),
    );
    const mapping = this.mappingOf(step, { attempt });
    const chunks = planChunks(file, {
      delimiter: step.columnDelimiter,
      header,
      maxRecords: step.maxRecordsPerJob,
      maxBytes: step.maxBytesPerJob,
      mapping,
      lineEnding: step.lineEnding,
      // a source as the run began, or a file derived from one (lock-aware jobs)
      fingerprint: fingerprintOf(this.state, file),
      hashChunks: true,
      onVerified: (stat) => this.plannedStats.set(file, stat),
    });
    // known chunks in file order; `next` is the first that ends after the current spec starts
    const ordered = [...known.values()].sort((a, b) => a.byteStart - b.byteStart);
    let next = 0;
    for await (const spec of chunks) {
      if (signal?.aborted) return;
      while (next < ordered.length && ordered[next].byteEnd <= spec.byteStart) next++;
      const existing = known.get(spec.byteStart);
      if (existing) {
        if (existing.byteEnd !== spec.byteEnd || existing.records !== spec.records) {
          throw messages.createError('error.ChunkingChanged', [file, spec.byteStart]);
        }
        continue;
      }
      // a new chunk over bytes a journaled chunk already covers would send those records twice
      if (next < ordered.length && ordered[next].byteStart < spec.byteEnd) {
        throw messages.createError('error.ChunkingChanged', [file, spec.byteStart]);
      }
      const ref = { step: step.id, chunk: this.stepState(step.id).chunks.length };
      await this.record(
        chunkPlanned(ref, {
          file,
          byteStart: spec.byteStart,
          byteEnd: spec.byteEnd,
          records: spec.records,
          attempt,
          sha256: spec.sha256,
        }),
      );
    }
  }

  private stepState(id: string): StepState {
    const state = this.state.steps.get(id);
    if (!state) throw messages.createError('error.UnknownStep', [id]);
    return state;
  }
}

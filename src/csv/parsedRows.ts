/*
 * The rows of an object stream (a csv-parse parser), read with `read()` one at a time, as `for
 * await (const row of stream)` reads them, but without Node's Readable async iterator.
 *
 * Why: with that iterator, a pass over millions of parsed rows left garbage that V8 promoted to its
 * old generation, which then grew to about three times whatever else the process held before a full
 * collection; the CLI holds a lot (oclif, @salesforce/core), so the row pass's peak RSS grew with the
 * file until that ceiling: bench/prepare-memory.ts, 1M rows, peak 250-265 MB against 125-140 MB before
 * the pass, heap 140 MB for 35 MB live. The same parse read through this generator, or with `read()`
 * in a loop, stayed at the heap it started with (a 1M-row parse beside 35 MB held: 260 MB with the
 * iterator, 140 MB without). Node's iterator is not wrong, only costly here; nothing else changes.
 */
import type { Readable } from 'node:stream';

/**
 * Yields every object `stream` gives, in order; throws the stream's error, or a premature-close
 * error when it is destroyed before its end. A consumer that stops early destroys the stream, as
 * `for await` does.
 */
export async function* parsedRows<T>(stream: Readable): AsyncGenerator<T> {
  let wake: (() => void) | undefined;
  let failure: unknown;
  let ended = false;
  const wakeUp = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const onEnd = (): void => {
    ended = true;
    wakeUp();
  };
  const onError = (error: unknown): void => {
    failure ??= error;
    wakeUp();
  };
  stream.on('readable', wakeUp);
  stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', wakeUp);
  try {
    for (;;) {
      const row = stream.read() as T | null;
      if (row !== null) {
        yield row;
        continue;
      }
      if (failure !== undefined) throw failure;
      if (ended || stream.readableEnded) return;
      if (stream.destroyed) throw stream.errored ?? prematureClose();
      // eslint-disable-next-line no-await-in-loop -- until the stream has more, ends or fails
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stream.off('readable', wakeUp);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.off('close', wakeUp);
    if (!ended) stream.destroy();
  }
}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

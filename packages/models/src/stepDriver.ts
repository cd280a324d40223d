/**
 * Drivers of decoding loops written once as generators: a loop yields the model runs it needs
 * and receives their results; {@link driveSync} answers on tfjs, {@link driveAsync} on another
 * engine. A run that throws is thrown into the loop, so its `finally` blocks free what it holds.
 *
 * @module
 */

/** Runs `loop` to its end, answering each request with `run` (synchronously). */
export function driveSync<Q, A, R>(loop: Generator<Q, R, A>, run: (request: Q) => A): R {
  let next = loop.next();
  while (!next.done) {
    let result: A;
    try {
      result = run(next.value);
    } catch (error) {
      next = loop.throw(error);
      continue;
    }
    next = loop.next(result);
  }
  return next.value;
}

/** Runs `loop` to its end, answering each request with the promise `run` returns. */
export async function driveAsync<Q, A, R>(
  loop: Generator<Q, R, A>,
  run: (request: Q) => Promise<A>,
): Promise<R> {
  let next = loop.next();
  while (!next.done) {
    let result: A;
    try {
      result = await run(next.value);
    } catch (error) {
      next = loop.throw(error);
      continue;
    }
    next = loop.next(result);
  }
  return next.value;
}

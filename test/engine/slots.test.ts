import { expect } from 'chai';
import { Slots } from '../../src/engine/concurrency.js';

describe('Slots', () => {
  it('lets `size` holders in and the rest wait, in arrival order', async () => {
    const slots = new Slots(2);
    const a = await slots.acquire();
    const b = await slots.acquire();
    const order: string[] = [];
    const c = slots.acquire().then((release) => {
      order.push('c');
      return release;
    });
    const d = slots.acquire().then((release) => {
      order.push('d');
      return release;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).to.deep.equal([]);
    a!();
    a!(); // a second release of the same slot frees nothing more
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).to.deep.equal(['c']);
    b!();
    (await c)!();
    (await d)!();
    expect(order).to.deep.equal(['c', 'd']);
    // all free again: two at once without waiting
    expect(await slots.acquire()).to.be.a('function');
    expect(await slots.acquire()).to.be.a('function');
  });

  it('gives up a wait when the signal fires, holding nothing', async () => {
    const slots = new Slots(1);
    const held = await slots.acquire();
    const stop = new AbortController();
    const waiting = slots.acquire(stop.signal);
    stop.abort();
    expect(await waiting).to.equal(undefined);
    expect(await slots.acquire(stop.signal)).to.equal(undefined);
    held!();
    // the given-up waiter did not take the freed slot
    expect(await slots.acquire()).to.be.a('function');
  });

  it('gives no slot before the promise it opens after has settled, resolved or rejected', async () => {
    for (const outcome of ['resolve', 'reject'] as const) {
      let open = (): void => undefined;
      const turn = new Promise<void>((resolve, reject) => {
        open = outcome === 'resolve' ? resolve : (): void => reject(new Error('the earlier step failed'));
      });
      const slots = new Slots(2, turn);
      let held = 0;
      const first = slots.acquire().then((release) => (held++, release));
      const second = slots.acquire().then((release) => (held++, release));
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve) => setImmediate(resolve));
      expect(held, outcome).to.equal(0);
      open();
      // eslint-disable-next-line no-await-in-loop
      expect(await first).to.be.a('function');
      // eslint-disable-next-line no-await-in-loop
      expect(await second).to.be.a('function');
      expect(held).to.equal(2);
    }
  });

  it('gives up a wait for its turn when the signal fires', async () => {
    const slots = new Slots(1, new Promise<void>(() => undefined));
    const stop = new AbortController();
    const waiting = slots.acquire(stop.signal);
    stop.abort();
    expect(await waiting).to.equal(undefined);
  });
});

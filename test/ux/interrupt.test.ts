import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import { RunInterrupt } from '../../src/ux/interrupt.js';

function harness(): { target: EventEmitter; notes: string[]; exits: number[]; interrupt: RunInterrupt } {
  const target = new EventEmitter();
  const notes: string[] = [];
  const exits: number[] = [];
  const interrupt = new RunInterrupt({ notify: (text) => notes.push(text), exit: (code) => exits.push(code) }, target);
  interrupt.install();
  return { target, notes, exits, interrupt };
}

describe('RunInterrupt', () => {
  it('turns the first SIGINT into a stop request and says how to go on, without exiting', () => {
    const { target, notes, exits, interrupt } = harness();
    interrupt.resumeCommand = 'sf migrate resume --manifest /m.json --run-id R1';
    expect(interrupt.signal.aborted).to.equal(false);
    target.emit('SIGINT');
    expect(interrupt.signal.aborted).to.equal(true);
    expect(interrupt.signalName).to.equal('SIGINT');
    expect(interrupt.exitCode).to.equal(130);
    expect(exits).to.deep.equal([]);
    expect(notes).to.have.length(1);
    expect(notes[0]).to.include('stopping at the next safe point').and.include('--run-id R1');
  });

  it('exits at once on a second signal, with the code of that signal', () => {
    const { target, notes, exits } = harness();
    target.emit('SIGINT');
    target.emit('SIGINT');
    expect(exits).to.deep.equal([130]);
    expect(notes[1]).to.include('SIGINT received again: exiting now');
    const other = harness();
    other.target.emit('SIGTERM');
    expect(other.interrupt.exitCode).to.equal(143);
    other.target.emit('SIGTERM');
    expect(other.exits).to.deep.equal([143]);
  });

  it('names no resume command before the run exists', () => {
    const { target, notes } = harness();
    target.emit('SIGTERM');
    expect(notes[0]).to.include('SIGTERM received').and.not.include('Continue later');
  });

  it('removes its listeners when disposed', () => {
    const { target, interrupt } = harness();
    expect(target.listenerCount('SIGINT')).to.equal(1);
    expect(target.listenerCount('SIGTERM')).to.equal(1);
    interrupt.dispose();
    expect(target.listenerCount('SIGINT')).to.equal(0);
    expect(target.listenerCount('SIGTERM')).to.equal(0);
  });
});

import { jest } from '@jest/globals';
import { exitWithin } from '../../../src/shutdown-deadline.js';
import { eventually } from '../../support/eventually.js';

/** The backstop of a graceful shutdown: once the signal came, the process ends within the deadline. */
describe('exitWithin', () => {
  afterEach(() => jest.restoreAllMocks());

  it('exits with 1 once the deadline passes after the signal, however the shutdown hangs', async () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const before = process.listenerCount('SIGUSR2');
    exitWithin(50, ['SIGUSR2']);
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    expect(exit).not.toHaveBeenCalled();

    process.emit('SIGUSR2', 'SIGUSR2');
    // Its listener is gone at once: when Nest raises the signal again after a clean shutdown, Node ends the process.
    expect(process.listenerCount('SIGUSR2')).toBe(before);
    await eventually(
      () => exit.mock.calls.length,
      (n) => n === 1,
      { timeoutMs: 2000, intervalMs: 10, what: 'the exit' },
    );
    expect(exit).toHaveBeenCalledWith(1);
  });
});

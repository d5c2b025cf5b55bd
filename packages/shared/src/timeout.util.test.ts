import { withTimeout } from './timeout.util';

describe('withTimeout', () => {
  it('passes a result through and rejects with the message when too slow', async () => {
    await expect(withTimeout(Promise.resolve(7), 1_000, 'too slow')).resolves.toBe(7);
    await expect(withTimeout(new Promise(() => undefined), 5, 'too slow')).rejects.toThrow('too slow');
  });
});

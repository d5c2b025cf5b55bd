import { withTimeout } from './timeout';

describe('withTimeout', () => {
  it('passes a result through and rejects with the message when too slow', async () => {
    await expect(withTimeout(Promise.resolve(7), 1_000, 'too slow')).resolves.toBe(7);
    await expect(withTimeout(new Promise(() => undefined), 5, 'too slow')).rejects.toThrow('too slow');
  });

  it('does not leave the late rejection unhandled', async () => {
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 20));
    await expect(withTimeout(late, 5, 'too slow')).rejects.toThrow('too slow');
    await new Promise((r) => setTimeout(r, 40));
  });
});

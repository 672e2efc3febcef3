import { describe, expect, it } from 'vitest';
import { nanoToUsd, reservationAmount, usageCost, usdToNano } from '@pipewright/contracts';

const price = { input: 0.15, cachedInput: 0.075, output: 0.6 };

// The arithmetic the budget charges with lives in @pipewright/contracts (the executor reports costs
// with the same functions); these are the figures the budget's charges rest on.
describe('money', () => {
  it('prices a reservation at the full input price plus the whole output cap, in nano-dollars', () => {
    // 1000 × $0.15/M + 500 × $0.60/M = $0.00015 + $0.0003
    expect(reservationAmount(price, 1000, 500)).toEqual({ nano: 450_000, tokens: 1500 });
    expect(reservationAmount(undefined, 1000, 500)).toEqual({ nano: 0, tokens: 1500 });
  });

  it('charges cached input tokens at the cached price and rounds a call up to a whole nano-dollar', () => {
    expect(usageCost(price, { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 10, totalTokens: 1010 })).toEqual({ nano: 90_000 + 30_000 + 6_000, tokens: 1010 });
    // 1 token at $0.0001/M = 0.1 nano-dollars: rounded up, never down
    expect(usageCost({ input: 0.0001, output: 0 }, { inputTokens: 1, outputTokens: 0, totalTokens: 1 }).nano).toBe(1);
    // without a cached price, cached tokens cost the input price
    expect(usageCost({ input: 1, output: 2 }, { inputTokens: 10, cachedInputTokens: 10, outputTokens: 0, totalTokens: 10 }).nano).toBe(10_000);
  });

  it('sums exactly where floating-point dollars would drift', () => {
    let nano = 0;
    let usd = 0;
    for (let i = 0; i < 10_000; i++) {
      const c = usageCost(price, { inputTokens: 7, outputTokens: 3, totalTokens: 10 });
      nano += c.nano;
      usd += 7 * 0.15e-6 + 3 * 0.6e-6;
    }
    expect(nano).toBe(10_000 * 2_850); // 7 × 150 + 3 × 600 nano-dollars per call
    expect(nanoToUsd(nano)).toBe(0.0285);
    expect(usd).not.toBe(0.0285);
  });

  it('turns a USD limit into nano-dollars without rounding it up', () => {
    expect(usdToNano(0.3)).toBe(300_000_000);
    expect(usdToNano(10)).toBe(10_000_000_000);
    expect(usdToNano(1e-10)).toBe(0);
  });
});
